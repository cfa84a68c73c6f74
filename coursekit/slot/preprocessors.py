"""nbgrader preprocessors of the kit, run by the slot's driver (coursekit/slot/driver.py).

Named in ``nbgrader_config.py`` by dotted path, so this module imports only nbgrader.
"""
from __future__ import annotations

import os
import shutil
import stat

from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import List, Unicode

#: the slot's kernel manager (and so its client): coursekit/slot/kernelclient.py
READY_MANAGER = "coursekit.slot.kernelclient.ReadyKernelManager"


class DropClearedGradingMetadata(NbGraderPreprocessor):
    """Runs right after nbgrader's DeduplicateIds, which empties the ``nbgrader`` metadata of every
    earlier copy of a cell whose grade_id appears twice (a student copied a solution cell).
    nbgrader 0.9.6's OverwriteCells with ``add_missing_cells = True`` then fails on those empty
    dicts (KeyError 'grade_id' in add_missing_task_cells) and the whole submission is not graded.
    Removing the empty dict makes the copy a plain code cell, which is what DeduplicateIds meant.

    Likewise a cell whose grade_id the gradebook does not know (a cell copied from another version
    of the assignment, or made by hand): OverwriteCells deletes its grade_id and then fails on it
    (KeyError 'grade_id'); here it becomes a plain cell before that, as OverwriteCells meant.

    And a known cell whose kind a student edited (an answer cell marked ``grade``, a test cell whose
    ``grade`` was removed): OverwriteCells restores a cell's type, lock, points and source, but not
    these flags, and nbgrader then fails the whole submission (MissingEntry: no such grade cell) or
    leaves a test cell ungraded; here they are restored from the gradebook first (the precheck flags it)."""

    def preprocess(self, nb, resources):
        self._known = None
        info = resources.get("nbgrader") or {}
        if info.get("db_url"):
            from nbgrader.api import Gradebook, MissingEntry
            with Gradebook(info["db_url"]) as gb:
                try:
                    source = gb.find_notebook(info["notebook"], info["assignment"])
                    self._known = {c.name for c in source.source_cells}
                    self._kinds = {"grade": {c.name for c in source.grade_cells},
                                   "solution": {c.name for c in source.solution_cells},
                                   "task": {c.name for c in source.task_cells}}
                    self._points = {c.name: c.max_score for c in source.grade_cells}
                except MissingEntry:
                    self._known = None
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader")
        if meta is not None and not meta:
            del cell.metadata["nbgrader"]
        elif isinstance(meta, dict) and self._known is not None and meta.get("grade_id") not in self._known \
                and (meta.get("grade") or meta.get("solution") or meta.get("task") or meta.get("locked")):
            self.log.warning("Cell %r is not one of the assignment's: graded as a plain cell", meta.get("grade_id"))
            del cell.metadata["nbgrader"]
        elif isinstance(meta, dict) and self._known is not None and meta.get("grade_id") in self._known:
            gid = meta["grade_id"]
            edited = [k for k, names in self._kinds.items() if bool(meta.get(k)) != (gid in names)]
            if edited:
                self.log.warning("Cell %r's kind (%s) was edited: restored", gid, ", ".join(edited))
                for k, names in self._kinds.items():
                    meta[k] = gid in names
                if gid in self._points:
                    meta["points"] = self._points[gid]
                else:
                    meta.pop("points", None)
        return cell, resources


class TrackedExecute(Execute):
    """nbgrader's Execute that remembers which cell was running and how the kernel ended, so that a
    submission whose kernel dies gets an accurate reason ("exited with code 3 during cell 7", "killed
    during cell 7") instead of nbgrader's "Kernel died"."""

    #: set while executing: (1-based position of the cell in the notebook, grade_id or None)
    current: tuple[int, str | None] | None = None
    #: the kernel process's exit status when it died (negative: killed by that signal)
    kernel_exit: int | None = None

    def preprocess(self, nb, resources=None, km=None):
        TrackedExecute.current = None
        TrackedExecute.kernel_exit = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        TrackedExecute.current = (index + 1, (cell.metadata.get("nbgrader") or {}).get("grade_id"))
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


class KernelFolder(NbGraderPreprocessor):
    """Right before the kernel starts: the kernel's working folder (``folder``, the one its sandbox
    binds as its current folder) made afresh as a copy of the notebook's folder as nbgrader prepared
    it (the assignment's files and folders, the student's own files), as plain nbgrader's kernel
    finds it, but for the notebooks graded so far, which hold their hidden tests. The kernel never writes where nbgrader reads and writes:
    what it leaves is removed with its copy (ClearWorkdir), and the next notebook of the assignment
    gets a fresh copy again. Only regular files and folders are copied (nbgrader's own output)."""

    folder = Unicode("", help="the kernel's working folder (empty: the kernel works in the notebook's folder)"
                     ).tag(config=True)
    tmp = Unicode("", help="the kernels' shared /tmp with the judge (empty: each kernel's own): made afresh for "
                           "each notebook").tag(config=True)

    def preprocess(self, nb, resources):
        meta = resources.setdefault("metadata", {})
        path = meta.get("path")
        if not self.folder or not path:
            return nb, resources
        from coursekit.sandbox.workspace import remove_tree
        if os.path.lexists(self.folder):
            remove_tree(self.folder)
        os.mkdir(self.folder, 0o700)
        _copy_plain(path, self.folder, notebooks=False)
        if self.tmp:
            if os.path.lexists(self.tmp):
                remove_tree(self.tmp)
            os.mkdir(self.tmp, 0o700)
            resources["coursekit_tmp"] = self.tmp
        resources["coursekit_notebook_path"] = path
        meta["path"] = self.folder
        return nb, resources


def _copy_plain(src: str, dest: str, notebooks: bool = True) -> None:
    """Regular files and folders of ``src`` into ``dest``; without ``notebooks``, the top level's
    ``.ipynb`` files stay behind: the notebooks of the assignment graded before this one hold their
    hidden tests (plain nbgrader's kernel sees them; a deliberate difference, see the README)."""
    for entry in os.scandir(src):
        st = entry.stat(follow_symlinks=False)
        target = os.path.join(dest, entry.name)
        if not notebooks and entry.name.endswith(".ipynb"):
            continue
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(target, 0o700)
            _copy_plain(entry.path, target)
        elif stat.S_ISREG(st.st_mode):
            shutil.copyfile(entry.path, target, follow_symlinks=False)
            os.chmod(target, 0o600)


class ClearWorkdir(NbGraderPreprocessor):
    """Right after the kernel is gone: its working folder (KernelFolder), with everything the kernel
    left there (files, folders of any mode, links, FIFOs), is removed, links never followed, and
    the notebook's folder, which the kernel never saw, is nbgrader's again."""

    def preprocess(self, nb, resources):
        original = resources.pop("coursekit_notebook_path", None)
        tmp = resources.pop("coursekit_tmp", None)
        if tmp is not None:
            from coursekit.sandbox.workspace import remove_tree
            remove_tree(tmp)
        if original is not None:
            from coursekit.sandbox.workspace import remove_tree
            meta = resources["metadata"]
            remove_tree(meta["path"])
            meta["path"] = original
        return nb, resources


class JudgedExecute(TrackedExecute):
    """TrackedExecute whose graded test cells (nbgrader ``grade`` without ``solution``, visible and
    hidden tests) run in a judge kernel of their own (``judge_kernel``: coursekit/judge, in a sandbox
    of its own), never in the student's kernel: every verdict, expected value and message is computed
    where no student code runs, and the hidden tests never reach the student's kernel. The student's
    cells run in the student's kernel as before; the judge looks up what a test cell uses there, as
    data. Outputs and execution counts of graded cells are the judge's, so nbgrader's scores come
    from the judge."""

    judge_kernel = Unicode("", help="the judge's kernelspec name (empty: no judge)").tag(config=True)
    judge_runtime = Unicode("", help="the judge kernel's connection folder (never the student's)").tag(config=True)
    judge_imports = List(Unicode(), help="the instructor's import statements, run in the judge first").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._judge = self._student = None
        self._used = self._names_used(nb) if self.judge_kernel else set()
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._stop_judge()

    def _judged(self, cell) -> bool:
        meta = cell.metadata.get("nbgrader") or {}
        return bool(self.judge_kernel and cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"))

    def _names_used(self, nb) -> set:
        """The identifiers the cells that run in the student's kernel mention."""
        from coursekit.slot.cellnames import used_names
        used: set = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and not self._judged(cell):
                used |= used_names(cell.source)
        return used

    def _shared(self, cell) -> tuple[list[str], list[str]]:
        """(code, names) of the test cell that the student's kernel shares (coursekit/slot/cellnames.py)."""
        import copy

        from nbgrader.preprocessors import ClearHiddenTests
        from coursekit.slot.cellnames import left_for_the_student
        if not self._used:
            return [], []
        shown = copy.deepcopy(cell)
        try:
            ClearHiddenTests(config=self.config)._remove_hidden_test_region(shown)
        except RuntimeError:
            return [], []
        return left_for_the_student(cell.source, shown.source, self._used)

    def _leave(self, code: list[str]) -> None:
        """After the test cell: the imports and definitions of its released part that the student's cells
        use, run in the student's kernel as one kernel would have them (its assignments of shared names
        reached it already, as they happened: JudgeNamespace.share)."""
        import textwrap
        if code:
            self._silent(self.km, self.kc, "\n".join(
                f"try:\n{textwrap.indent(c, '    ')}\nexcept Exception:\n    pass" for c in code))

    def _silent(self, km, kc, code: str) -> None:
        from jupyter_core.utils import run_sync
        try:
            if not run_sync(km.is_alive)():      # (the next cell reports a dead kernel, as it would have)
                return
            run_sync(kc.execute_interactive)(code, silent=True, store_history=False, timeout=30,
                                             output_hook=lambda msg: None)
        except Exception as exc:   # noqa: BLE001 - the cell's own result stands; a later cell may lack a name
            self.log.warning("could not leave a test cell's names in the student's kernel: %s", exc)

    def preprocess_cell(self, cell, resources, index):
        if not self._judged(cell):
            return super().preprocess_cell(cell, resources, index)
        if self._judge is None:
            self._judge = self._start_judge()
        code, names = self._shared(cell)
        if names:
            self._silent(*self._judge, f"__import__('IPython').get_ipython().user_ns.share({names!r})")
        student = self._student = (self.km, self.kc)
        self.km, self.kc = self._judge
        try:
            result = super().preprocess_cell(cell, resources, index)
        finally:
            self.km, self.kc = student
            self._student = None
            if getattr(self, "_iopub_timeout_was", None) is not None:
                self.iopub_timeout, self._iopub_timeout_was = self._iopub_timeout_was, None
        self._leave(code)
        return result

    async def _async_handle_timeout(self, timeout, cell=None):
        """A test cell past the time limit: the judge is interrupted (nbclient's own handling), then the
        student's kernel, where the student's function the cell called runs (on its main thread:
        coursekit/judge/student_side.py): as one kernel's interrupt stops the cell, whichever of the two
        it was waiting on, and the rest of the notebook is graded."""
        reply = await super()._async_handle_timeout(timeout, cell)
        student = getattr(self, "_student", None)
        if student is not None and self.interrupt_on_timeout:
            # the judge's cell ends after the student's code has stopped (peer._interrupted_reply waits up
            # to 6 s for its error) and the cell's end has reached the student's kernel: more steps than one
            # kernel's, so a longer wait for its last output than nbclient's (4 s) before the cell is given up
            self._iopub_timeout_was = self.iopub_timeout
            self.iopub_timeout = max(self.iopub_timeout, 20)
            from jupyter_core.utils import ensure_async
            try:
                await ensure_async(student[0].interrupt_kernel())
            except Exception as exc:   # noqa: BLE001 - a dead kernel is reported by the next cell
                self.log.warning("could not interrupt the student's kernel: %s", exc)
        return reply

    def _start_judge(self):
        from jupyter_core.utils import run_sync
        from coursekit.slot.kernelclient import ReadyKernelManager
        km = ReadyKernelManager(kernel_name=self.judge_kernel, transport="ipc",
                                ip=os.path.join(self.judge_runtime, "k"),
                                connection_file=os.path.join(self.judge_runtime, "judge.json"))
        cwd = (self.resources.get("metadata") or {}).get("path")
        run_sync(km.start_kernel)(cwd=cwd, extra_arguments=list(self.extra_arguments))
        kc = km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=self.startup_timeout)
        except Exception:
            kc.stop_channels()
            run_sync(km.shutdown_kernel)(now=True)
            raise
        kc.allow_stdin = False
        if self.judge_imports:     # silent: no cell of its own, no lookups in the student's kernel
            code = "\n".join(f"try:\n    {line}\nexcept Exception:\n    pass" for line in self.judge_imports)
            run_sync(kc.execute_interactive)(code, silent=True, store_history=False, timeout=self.startup_timeout,
                                             output_hook=lambda msg: None)
        return km, kc

    def _stop_judge(self):
        if self._judge is None:
            return
        from jupyter_core.utils import run_sync
        km, kc = self._judge
        self._judge = None
        try:
            kc.stop_channels()
            run_sync(km.shutdown_kernel)(now=True)
        except Exception as exc:   # noqa: BLE001 - the notebook's results are complete already
            self.log.warning("the judge kernel did not stop cleanly: %s", exc)
