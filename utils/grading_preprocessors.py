"""nbgrader preprocessors used by the course's grading (named in nbgrader_config.py and by
utils.grading), kept in a small module so that `nbgrader autograde` can import them quickly."""
from __future__ import annotations

import os

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer


class DropClearedGradingMetadata(NbGraderPreprocessor):
    """Runs right after nbgrader's DeduplicateIds, which empties the ``nbgrader`` metadata of every
    earlier copy of a cell whose grade_id appears twice (a student copied a solution cell).
    nbgrader 0.9.6's OverwriteCells with ``add_missing_cells = True`` then fails on those empty
    dicts (KeyError 'grade_id' in add_missing_task_cells) and the whole submission is not graded.
    Removing the empty dict makes the copy a plain code cell, which is what DeduplicateIds meant."""

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.metadata and not cell.metadata["nbgrader"]:
            del cell.metadata["nbgrader"]
        return cell, resources


class SandboxWorkdir(NbGraderPreprocessor):
    """Gives the notebook's working folder (autograded/<student>/<topic>/ of a grading worker's
    private course copy) to the sandbox uid just before the kernel starts: the only place the
    student kernel may write. Its parents become traversable only."""

    uid = Integer(-1, help="uid/gid owning the working copy; -1: leave as is").tag(config=True)

    def preprocess(self, nb, resources):
        path = resources.get("metadata", {}).get("path")
        if self.uid >= 0 and path:
            os.chmod(os.path.dirname(path), 0o711)
            os.chmod(os.path.dirname(os.path.dirname(path)), 0o711)
            for dirpath, dirnames, filenames in os.walk(path):
                os.chown(dirpath, self.uid, self.uid)
                for name in filenames:
                    os.chown(os.path.join(dirpath, name), self.uid, self.uid)
        return nb, resources
