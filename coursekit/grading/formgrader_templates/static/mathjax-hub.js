// Formgrader's formgrade.js was written for MathJax 2: it waits for MathJax.Hub's "End" signal to
// focus and scroll to the cell being graded. MathJax 3 (loaded just before this file) has no Hub;
// this is the one call it makes, answered when MathJax 3 has typeset the page.
(function () {
    "use strict";
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.startup) {
        return;
    }
    mj.Hub = {
        Startup: {signal: {Interest: function (callback) {
            mj.startup.promise.then(function () { callback("End"); });
        }}},
        Queue: function () {}
    };
}());
