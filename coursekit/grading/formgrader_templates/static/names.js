// Formgrader's list of submissions shows a student's name as "last, first", and "None, None" when
// the gradebook has no name. The course kit records what the LMS download gives (Moodle: the full
// name; Canvas and Blackboard: the login), often one part only: the row shows the parts there are,
// and a dash when there is none. Loaded after nbgrader's manage_submissions.js (its SubmissionUI).
(function () {
    "use strict";
    var view = window.SubmissionUI;
    if (!view || typeof view.prototype.render !== "function") {
        return;
    }
    var render = view.prototype.render;
    view.prototype.render = function () {
        render.apply(this, arguments);
        var parts = [this.model.get("last_name"), this.model.get("first_name")].filter(function (part) {
            return typeof part === "string" && part.length > 0;
        });
        var name = parts.join(", ");
        var cell = this.$student_name;
        var link = cell.children("a");
        cell.attr("data-order", name || "\uffff" + this.model.get("student"));
        (link.length ? link : cell).text(name || "\u2014");
    };
}());
