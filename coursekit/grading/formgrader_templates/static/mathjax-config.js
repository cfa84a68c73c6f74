// MathJax 3 for the course kit's feedback pages and Formgrader's submission view
// (coursekit/grading/mathjax.py): served from the environment, never from a CDN, with the TeX
// packages that can make links, styles, classes or ids, or load more code, left out (html: \href
// \class \style \cssId; bbox: styles; action: tooltips; unicode: fonts; require, autoload and
// setoptions: loading or reconfiguring), and no context menu. What a student wrote between $...$
// is typeset as mathematics, nothing else.
window.MathJax = {
    tex: {
        inlineMath: [["$", "$"], ["\\(", "\\)"]],
        displayMath: [["$$", "$$"], ["\\[", "\\]"]],
        processEscapes: true,
        processEnvironments: true,
        packages: ["base", "ams", "amscd", "boldsymbol", "braket", "cancel", "cases", "centernot", "color",
                   "colortbl", "empheq", "enclose", "extpfeil", "gensymb", "mathtools", "mhchem", "newcommand",
                   "noerrors", "noundefined", "upgreek", "verb", "configmacros", "tagformat", "textcomp",
                   "textmacros"]
    },
    options: {
        enableMenu: false,
        ignoreHtmlClass: "tex2jax_ignore|CodeMirror|coursekit-nomath",
        processHtmlClass: "tex2jax_process"
    },
    svg: {fontCache: "global"},
    startup: {typeset: true}
};
