// Formgrader page variables (base_url, assignment_id, ...) from this script's data- attributes, set
// before nbgrader's page scripts run: the kit's Content-Security-Policy forbids inline script.
(function () {
    "use strict";
    var data = document.currentScript.dataset;
    Object.keys(data).forEach(function (key) {
        if (key !== "formgrade") {
            window[key] = data[key];
        }
    });
    document.addEventListener("DOMContentLoaded", function () {
        // what nbgrader's templates did with onclick= and inline scripts
        var toggle = document.getElementById("toggle_names");
        if (toggle && typeof window.toggleAllNames === "function") {
            toggle.addEventListener("click", window.toggleAllNames);
        }
        if (data.formgrade === undefined || !window.jQuery) {
            return;
        }
        var $ = window.jQuery;
        $(".name-hidden.glyphicon").on("click", function () { window.coursekitToggleName(true); })
            .tooltip({title: "Show student name", placement: "bottom", trigger: "hover"});
        $(".name-shown.glyphicon").on("click", function () { window.coursekitToggleName(false); })
            .tooltip({title: "Hide student name", placement: "bottom", trigger: "hover"});
        $("[data-link]").each(function () {
            $(this).map(window.linkTo("notebook", $(this).data("link"))).removeAttr("data-link");
        });
    });
    window.coursekitToggleName = function (on) {
        var $ = window.jQuery;
        $(".name-shown").tooltip("hide");
        $(".name-hidden").tooltip("hide");
        $(on ? ".name-shown" : ".name-hidden").show();
        $(on ? ".name-hidden" : ".name-shown").hide();
    };
}());
