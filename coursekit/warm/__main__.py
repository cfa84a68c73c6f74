"""python -m coursekit.warm install [PREFIX]: install the python3-warm kernelspec (make setup does)."""
import sys

from coursekit.warm import ensure_kernelspec, supported

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "install" or len(args) > 2:
        sys.exit(__doc__)
    print(f"python3-warm kernelspec: {ensure_kernelspec(args[1] if len(args) > 1 else None)}")
    why = supported()
    if why:
        print(f"(kernels will start the ordinary way here: {why})")
