"""nbgrader preprocessors of the kit that are not about integrity (see integrity.py for those).

Named in ``nbgrader_config.py`` by dotted path, so this module imports only nbgrader.
"""
from __future__ import annotations

import os
import shutil
import stat

from nbgrader.preprocessors import Execute, NbGraderPreprocessor


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


class TrackedExecute(Execute):
    """nbgrader's Execute that remembers which cell was running and how the kernel ended, so that a
    submission whose kernel dies gets an accurate reason ("exited with code 3 during cell 7", "killed
    during cell 7") instead of nbgrader's "Kernel died"."""

    #: set while executing: (1-based position among the student's cells, grade_id or None)
    current: tuple[int, str | None] | None = None
    #: the kernel process's exit status when it died (negative: killed by that signal)
    kernel_exit: int | None = None

    def preprocess(self, nb, resources=None, km=None):
        TrackedExecute.current = None
        TrackedExecute.kernel_exit = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if "coursekit_guard" not in cell.metadata or "done" in cell.metadata["coursekit_guard"]:
            position = sum(1 for c in self.nb.cells[:index + 1]
                           if "nonce" not in (c.metadata.get("coursekit_guard") or {}))
            TrackedExecute.current = (position, (cell.metadata.get("nbgrader") or {}).get("grade_id"))
        try:
            return super().preprocess_cell(cell, resources, index)
        except Exception:
            TrackedExecute.kernel_exit = self._exit_status()
            raise

    def _exit_status(self) -> int | None:
        try:
            process = self.km.provisioner.process
            return process.wait(timeout=2) if process is not None else None
        except Exception:
            return None


class ClearWorkdir(NbGraderPreprocessor):
    """Right after the kernel is gone: remove from the notebook's folder everything the kernel may
    have left there (files, folders, links, FIFOs), so that nbgrader, writing the executed notebook
    and setting file permissions, acts only on what it writes itself (a link planted there would
    otherwise be followed). Links are removed, never followed."""

    def preprocess(self, nb, resources):
        path = (resources.get("metadata") or {}).get("path")
        if path and os.path.isdir(path):
            for name in os.listdir(path):
                full = os.path.join(path, name)
                try:
                    st = os.lstat(full)
                    if stat.S_ISDIR(st.st_mode):
                        shutil.rmtree(full, ignore_errors=True)
                    elif not (stat.S_ISREG(st.st_mode) and name == resources.get("unique_key", "") + ".ipynb"):
                        os.unlink(full)
                except OSError:
                    pass
        return nb, resources
