"""The `uaccess-lab` command. It only parses arguments and calls the modules that do the work."""

from __future__ import annotations

import argparse
import sys

from pathlib import Path

from uaccess_lab import kernels
from uaccess_lab.course.workflow import WorkflowError
from uaccess_lab.vm.build import BuildError
from uaccess_lab.vm.guest import GuestError


class CommandError(Exception):
    """An expected failure: printed as `error: ...` with no traceback, exit 2."""


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="uaccess-lab",
        description="Run the uaccess-lab course's kernel code in a virtme-ng guest.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("doctor", help="check that the labs can run here, and say how to fix what is missing")

    k = sub.add_parser("kernels", help="list or install the supported Debian kernels")
    ksub = k.add_subparsers(dest="kernels_command", required=True, metavar="ACTION")
    ksub.add_parser("list", help="show each supported kernel and where it is installed")
    install = ksub.add_parser(
        "install",
        help="install a kernel and its headers (root: system-wide with apt-get; "
        "other users: Debian's packages unpacked into ~/.cache/uaccess-lab)",
    )
    install.add_argument("series", nargs="?", default=kernels.DEFAULT_SERIES,
                         help=f"{', '.join(kernels.SERIES)} or all (default {kernels.DEFAULT_SERIES})")
    route = install.add_mutually_exclusive_group()
    route.add_argument("--user", action="store_true", help="unpack into the per-user cache even as root")
    route.add_argument("--system", action="store_true", help="install system-wide with apt-get (root only)")

    kernel_help = f"kernel series to boot: {', '.join(kernels.SERIES)} (default {kernels.DEFAULT_SERIES})"
    kvm_help = "force KVM on or off (default: use KVM only when a quick probe shows it works)"
    run = sub.add_parser("run", help="boot a guest, run one command in it, exit with its status")
    run.add_argument("--kernel", default=None, help=kernel_help)
    run.add_argument("--module", action="append", default=[], metavar="X.ko",
                     help="load this module before the command (repeatable)")
    run.add_argument("--kvm", choices=["on", "off"], default=None, help=kvm_help)
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")

    shell = sub.add_parser("shell", help="boot a guest and open an interactive shell in it")
    shell.add_argument("--kernel", default=None, help=kernel_help)
    shell.add_argument("--kvm", choices=["on", "off"], default=None, help=kvm_help)
    grade = sub.add_parser(
        "grade-driver",
        help="grade one driver source file against a lab's driver tests, in a guest",
        description="Builds FILE.c as the lab's driver, runs each driver test in a guest and prints "
        "the score. Exit status 0 means grading ran (whatever the score); non-zero means it could not grade.",
    )
    grade.add_argument("--lab", required=True, help="the lab, e.g. 06-capstone (or just 06)")
    grade.add_argument("file", metavar="FILE.c", help="the driver source to grade")
    grade.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    grade.add_argument("--visible", action="store_true", help="only the tests students can see (self-check)")
    grade.add_argument("--kernel", default=None, help=kernel_help)
    grade.add_argument("-k", dest="names", action="append", metavar="FILTER",
                       help="only tests whose name or title contains FILTER (repeatable)")
    course = sub.add_parser("course", help="the instructor's nbgrader workflow over grader/ (see README)")
    csub = course.add_subparsers(dest="course_command", required=True, metavar="STEP")
    gen = csub.add_parser("generate", help="regenerate the student notebooks in labs/ from grader/source/")
    gen.add_argument("labs", nargs="*", help="only these labs (default: all)")
    for step, text in (("release", "generate a lab's student version and release it to the exchange"),
                       ("collect", "collect a lab's submissions from the exchange"),
                       ("feedback", "generate HTML feedback for a lab and release it to the students")):
        csub.add_parser(step, help=text).add_argument("lab")
    auto = csub.add_parser("autograde", help="autograde every submission of a lab, with progress")
    auto.add_argument("lab")
    auto.add_argument("--student", action="append", help="only this student (repeatable)")
    auto.add_argument("--jobs", type=int, default=1, help="grade N submissions at once (needs N spare cores)")
    export = csub.add_parser("export", help="export every grade to a CSV file")
    export.add_argument("file", nargs="?", default="grades.csv")
    return parser


def _course(args: argparse.Namespace) -> int:
    from uaccess_lab.course import generate, workflow

    step = args.course_command
    if step == "generate":
        for path in generate.generate(only=args.labs or None):
            print(f"wrote {path}")
        return 0
    if step == "release":
        workflow.run_step(["generate_assignment", args.lab, "--force"])
        print(workflow.run_step(["release_assignment", args.lab, "--force"]).strip())
        return 0
    if step == "collect":
        print(workflow.run_step(["collect", args.lab]).strip())
        print(f"{len(workflow.submissions(args.lab))} submissions of {args.lab} in {generate.COURSE / 'submitted'}")
        return 0
    if step == "autograde":
        results = workflow.autograde(args.lab, students=args.student, jobs=args.jobs)
        failed = [r for r in results if not r.ok]
        print(f"graded {len(results) - len(failed)} of {len(results)} submissions"
              + (f"; could not grade: {', '.join(r.student for r in failed)}" if failed else ""))
        return 0
    if step == "feedback":
        workflow.run_step(["generate_feedback", args.lab, "--force"])
        print(workflow.run_step(["release_feedback", args.lab]).strip())
        return 0
    if step == "export":
        target = Path(args.file).resolve()
        workflow.run_step(["export", f"--to={target}"])
        print(f"wrote {target}")
        return 0
    raise CommandError(f"unknown course step {step}")


def _grade_driver(args: argparse.Namespace) -> int:
    from uaccess_lab import grading

    path = Path(args.file)
    try:
        source = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None
    try:
        grading.suite_for(args.lab)
    except ValueError as exc:
        raise CommandError(str(exc)) from None

    def progress(outcome):
        mark = "OK  " if outcome.passed else "FAIL"
        print(f"{mark} {outcome.name} ({outcome.points:g}/{outcome.max_points:g})", file=sys.stderr, flush=True)

    report = grading.grade_source(args.lab, source, kernel=args.kernel, visible_only=args.visible,
                                  names=args.names, on_result=progress)
    print(report.dumps() if args.json else report.format())
    return 0


def _kernels_list() -> int:
    for series, kernel in kernels.installed_kernels().items():
        default = " (default)" if series == kernels.DEFAULT_SERIES else ""
        if kernel:
            print(f"{series:<5}{default:<10} {kernel.release:<24} {kernel.source:<7} {kernel.image}")
            print(f"{'':<15} headers: {kernel.build_dir}")
        else:
            print(f"{series:<5}{default:<10} not installed: run `{kernels.user_install_command(series)}`")
    return 0


def _kernels_install(series: str, user: bool, system: bool) -> int:
    todo = list(kernels.SERIES) if series == "all" else [kernels.check_series(series).name]
    route = True if system else False if user else None
    for name in todo:
        kernel = kernels.install(name, system=route)
        print(f"{name}: {kernel.release} ready ({kernel.source}: {kernel.image})")
    return 0


def _vm_commands():
    try:
        from uaccess_lab.vm import cli_commands
    except ImportError as exc:
        raise CommandError(f"the VM layer is not available ({exc}); run ./setup.sh lab") from None
    return cli_commands


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "doctor":
        from uaccess_lab import doctor

        return doctor.report(doctor.run_checks())
    if args.command == "kernels":
        if args.kernels_command == "list":
            return _kernels_list()
        return _kernels_install(args.series, args.user, args.system)
    kvm = getattr(args, "kvm", None)  # "on", "off" or None (probe)
    if args.command == "run":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            raise CommandError("no command given: use `uaccess-lab run [--kernel K] -- CMD [ARGS...]`")
        return _vm_commands().run_command(args.kernel, args.module, cmd, kvm)
    if args.command == "course":
        return _course(args)
    if args.command == "grade-driver":
        return _grade_driver(args)
    if args.command == "shell":
        return _vm_commands().shell_command(args.kernel, kvm)
    raise CommandError(f"unknown command {args.command}")


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return dispatch(args)
    except (CommandError, kernels.KernelError, GuestError, BuildError, WorkflowError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
