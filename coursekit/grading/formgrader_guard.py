"""Formgrader with the course kit's guards: a Jupyter server extension that ``make formgrader`` loads
in place of nbgrader's own Formgrader extension (it loads that one itself, then):

* sets a Content-Security-Policy on every ``/formgrader`` response: scripts only from Formgrader's
  own static folders (not inline, not ``/files``, not the students' files under
  ``/formgrader/submissions``), no plugins, frames, forms to elsewhere or ``<base>``;
* renders pages without inline script (templates in ``formgrader_templates/``: page variables are
  data- attributes of ``page.js``), with every value escaped (student ids and names);
* typesets formulas in the submission view with MathJax 3 from the environment (:mod:`.mathjax`,
  served from ``/formgrader/coursekit/mathjax/``, configured by a static file);
* renders submissions with the kit's Markdown and HTML cleaning (:mod:`.safehtml`) on top of what
  the grader already stored (an autograded notebook made by plain nbgrader or by an older kit is
  cleaned too), and without JavaScript, widget or inline-SVG outputs;
* refuses the per-student *Autograde* (it would run the submission with plain nbgrader on this
  machine, outside every sandbox) and both *Generate Feedback* calls (they would write feedback
  with the hidden tests), pointing to ``make grade``; their buttons are hidden.
"""
from __future__ import annotations

import json
from pathlib import Path

from tornado import web

from coursekit.grading import mathjax

TEMPLATES = Path(__file__).parent / "formgrader_templates"
CSP = ("default-src 'none'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; "
       "form-action 'self'; frame-src 'none'; object-src 'none'")
REFUSED = "{what} is switched off in this course kit: {why}. Grade with `make grade TOPIC={topic}` instead " \
          "(it grades in the sandbox and makes feedback without the hidden tests)."


def csp(origin: str, base_url: str) -> str:
    """The policy for a Formgrader page served at ``origin`` (scheme://host) under ``base_url``."""
    root = f"{origin}{base_url.rstrip('/')}/formgrader"
    return CSP.format(scripts=f"{root}/static/ {root}/coursekit/")


class _PolicyTransform(web.OutputTransform):
    """Adds the Content-Security-Policy to the responses under ``<base_url>formgrader``."""
    prefix = "/formgrader"

    def __init__(self, request):
        super().__init__(request)
        self.request = request
        self.on = request.path.startswith(self.prefix)

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        if self.on:
            base = self.prefix[:-len("/formgrader")] or "/"
            headers["Content-Security-Policy"] = csp(f"{self.request.protocol}://{self.request.host}", base)
            headers["X-Content-Type-Options"] = "nosniff"
        return status_code, headers, chunk


def _refusing_handler():
    from jupyter_server.base.handlers import APIHandler

    class Refused(APIHandler):
        """Answers 403 with the reason (JSON, as Formgrader's own API answers)."""

        @web.authenticated
        def post(self, assignment, *rest):
            if self.request.path.endswith("/generate_feedback"):
                what, why = "Generate Feedback in Formgrader", "its feedback would show the hidden tests"
            else:
                what, why = ("Autograde in Formgrader",
                             "it would run the submission with plain nbgrader on this machine, outside the sandbox")
            self.set_status(403)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"success": False, "error": REFUSED.format(what=what, why=why, topic=assignment),
                                    "log": ""}))

    return Refused


REFUSED_ROUTES = [r"/formgrader/api/submission/([^/]+)/([^/]+)/autograde",
                  r"/formgrader/api/assignment/([^/]+)/generate_feedback",
                  r"/formgrader/api/assignment/([^/]+)/([^/]+)/generate_feedback"]


def _page_environment(nbgrader_templates: str):
    """Formgrader's page templates: the kit's (pages/) first, nbgrader's under the prefix
    ``nbgrader/`` (the kit's pages extend them) and as they are; autoescaped."""
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader

    loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES / "pages")),
                           PrefixLoader({"nbgrader": FileSystemLoader(nbgrader_templates)}),
                           FileSystemLoader(nbgrader_templates)])
    return Environment(loader=loader, autoescape=True)


def guard_exporter(exporter, nbgrader_templates: str):
    """A copy of Formgrader's notebook-to-HTML exporter that renders the kit's way (see the module
    doc); its template paths are fixed when it is made, hence a new one."""
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config

    config = Config(exporter.config)
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES / "nbconvert"), nbgrader_templates]
    config.HTMLExporter.template_name = "coursekit_formgrade"
    config.HTMLExporter.sanitize_html = True     # nbconvert then leaves out JavaScript and widget outputs
    config.HTMLExporter.filters = dict(FILTERS)
    return HTMLExporter(config=config)


FILTERS = {"markdown2html": "coursekit.grading.safehtml.markdown2html_filter",
           "clean_html": "coursekit.grading.safehtml.clean"}


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.utils import url_path_join
    from nbgrader.server_extensions.formgrader import formgrader as nbgrader_formgrader
    from nbgrader.server_extensions.formgrader import handlers as nbgrader_handlers

    webapp = serverapp.web_app
    base_url = webapp.settings["base_url"]
    static = web.StaticFileHandler, {"path": str(TEMPLATES / "static")}
    mathjax_dir = mathjax.es5_dir()       # MathJax from the environment (submission view), never a CDN
    math = ([(url_path_join(base_url, r"/formgrader/coursekit/mathjax/(.*)"), web.StaticFileHandler,
              {"path": str(mathjax_dir)})] if mathjax_dir else [])
    # Added before nbgrader's handlers: tornado takes the first group of rules that matches.
    webapp.add_handlers(".*$", math + [(url_path_join(base_url, r"/formgrader/coursekit/(.*)"), *static)]
                        + [(url_path_join(base_url, route), _refusing_handler()) for route in REFUSED_ROUTES])
    nbgrader_formgrader.load_jupyter_server_extension(serverapp)

    templates = nbgrader_handlers.template_path
    webapp.settings["nbgrader_jinja2_env"] = _page_environment(templates)
    webapp.settings["nbgrader_exporter"] = guard_exporter(webapp.settings["nbgrader_exporter"], templates)
    transform = type("PolicyTransform", (_PolicyTransform,), {"prefix": url_path_join(base_url, "formgrader")})
    webapp.transforms.append(transform)
    serverapp.log.info("coursekit: Formgrader with the course kit's guards (CSP, clean rendering, "
                       "no Autograde/Generate Feedback buttons)")


def _jupyter_server_extension_points():
    return [{"module": "coursekit.grading.formgrader_guard"}]
