"""Command line: ``python -m toolkit <command>``.

Commands:
    search QUERY...         ranked titles for your queries: dense model, BM25, fusions
    encode --out FILE       precomputed vectors: encode every title and query of a set (--data,
                            default the demo set; --texts FILE adds one text per line) with
                            --model into FILE.parquet, which load_model() reads as a model
    demo                    top-3 titles for the model card's queries with the default model
    cache info|clear        list or delete the embedding cache
    encode-corpus FILE --out DIR
                            stream a CSV/Parquet/JSONL corpus (millions of rows) into a
                            resumable memory-mapped vector store (vectors.npy, ids.txt)
    data validate FILE...   validation report for data files or a dataset folder, with the
                            leakage audit of its splits (non-zero exit on errors)
    data describe           summary of the bundled demo set
    evaluate                dense vs BM25 vs hybrid metrics with 95% CIs on a split
    report [-p NAME=VALUE] [NOTEBOOK...]
                            execute the notebooks (default: notebooks/NN_*.ipynb) into
                            reports/ and render HTML; -p sets a notebook parameter (typed like
                            papermill's -p), e.g. -p MODEL=ai-forever/sbert_large_nlu_ru
                            -p DATA=path/; --parameters-file FILE (-f) reads NAME: value from
                            YAML/JSON. The data is checked against each notebook's needs
                            first: a notebook it cannot run stops the report before anything
                            runs, with what is missing and the command for the runnable ones
    execute NOTEBOOK...     restart and run notebooks in place (how the committed outputs are made)
    compare EXECUTED...     does a fresh run (reports/NN_*.ipynb) mean what the committed notebook
                            of the same name says? Words exact, numbers within their tolerances
                            (toolkit/notebook_check.py); exit 1 when a finding differs

A user error (bad file, missing model, bad argument) prints one line starting with
``error:`` to stderr and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from toolkit._validation import check_int


def _cmd_demo(args: argparse.Namespace) -> int:

    from toolkit.data import demo
    from toolkit.encoding import encode
    from toolkit.models import load_model
    from toolkit.ranking import top_k

    rs = demo()
    card_q = [q for q, src in rs.query_fields["source"].items() if src.startswith("card")]
    card_d = [d for d, src in rs.doc_fields["source"].items() if src.startswith("card")]
    model = load_model(args.model)
    q_emb = encode(model, [rs.queries[q] for q in card_q])
    d_emb = encode(model, [rs.corpus[d] for d in card_d])
    scores = q_emb @ d_emb.T
    name = args.model or "default"
    print(f"model: {name}; {len(card_q)} card queries x {len(card_d)} card titles")
    for qi, qid in enumerate(card_q):
        relevant = rs.qrels.get(qid, {})
        print(f"\n{rs.queries[qid]}")
        for di in top_k(scores[qi : qi + 1], min(args.top, len(card_d)))[0]:
            mark = "*" if relevant.get(card_d[di], 0) > 0 else " "
            print(f"  {mark} {scores[qi, di]:.3f}  {rs.corpus[card_d[di]].strip()}")
    print("\n* = the card's (stated or inferred) positive for that query")
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from toolkit.data import load
    from toolkit.retrieval import format_results, search

    rs = load(args.data)
    systems: dict[str, object] = {}
    for name in args.system or ["dense"]:
        if name in systems:
            raise ValueError(f"--system {name!r} is given twice")
        # "dense" is the --model model; every other name is read by toolkit.retrieval
        systems[name] = (args.model or "default") if name == "dense" else name
    table = search(args.queries, rs, systems=systems, k=args.k, index=args.index)
    data = args.data or "demo set"
    print(f"data: {data} ({len(rs.corpus)} titles); model: {args.model or 'default'}\n")
    print(format_results(table))
    return 0


def _cmd_encode(args: argparse.Namespace) -> int:
    from toolkit.data import load
    from toolkit.models import load_model
    from toolkit.models.vectors import check_out_path, encode_to_file, texts_of

    check_out_path(args.out)  # before the (possibly large) model is loaded
    texts: list[str] = []
    sources = []
    if args.data is not None or not args.texts:
        texts += texts_of(load(args.data))
        sources.append(args.data or "demo set")
    for name in args.texts or []:
        texts += _read_text_lines(Path(name))
        sources.append(name)
    model = load_model(args.model, device=args.device, revision=args.revision)
    out = encode_to_file(
        model, texts, args.out, model_spec=args.model or "default", revision=args.revision,
        data=" + ".join(sources), command="python -m toolkit " + " ".join(args.argv),
        batch_size=args.batch_size,
    )
    n = len(dict.fromkeys(texts))
    print(f"wrote {n} texts from {' + '.join(sources)}, encoded by {args.model or 'default'}, "
          f"to {out} ({out.stat().st_size / 1e6:.1f} MB); use it as a model: "
          f"load_model({str(out)!r}) or -p MODEL={out}")
    return 0


def _read_text_lines(path: Path) -> list[str]:
    """Texts of a --texts file: one per line, UTF-8, line ends stripped, empty lines skipped."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ValueError(f"--texts {path}, line {line}: not UTF-8 text") from None
    texts = [line for line in raw.splitlines() if line.strip()]
    if not texts:
        raise ValueError(f"--texts {path}: no texts (expected one text per line)")
    return texts


def _cmd_cache(args: argparse.Namespace) -> int:
    from toolkit.encoding import EmbeddingCache

    cache = EmbeddingCache()
    if args.action == "clear":
        print(f"removed {cache.clear()} cache file(s) from {cache.root}")
        return 0
    entries = cache.info()
    print(f"embedding cache: {cache.root}")
    if not entries:
        print("  (empty)")
    for e in entries:
        print(
            f"  {e.fingerprint[:12]}  {e.model:<30.30} dim={e.dim:<5} "
            f"entries={e.entries:<8} {e.size_bytes / 1e6:.1f} MB"
        )
    return 0


def _cmd_encode_corpus(args: argparse.Namespace) -> int:
    from toolkit.streaming import encode_corpus

    result = encode_corpus(
        args.file, args.out, args.model, id_column=args.id_column, text_column=args.text_column,
        chunk_size=args.chunk_size, batch_size=args.batch_size, device=args.device,
        show_progress=not args.quiet,
    )
    print(
        f"store: {result.out_dir} ({result.rows} rows x {result.dim}; encoded "
        f"{result.rows_encoded}, reused {result.rows_reused} from an earlier run)"
    )
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from toolkit import data

    if args.action == "describe":
        print(data.describe(data.demo()))
        return 0
    if not args.files:
        raise ValueError("data validate needs at least one FILE")
    report, ok = data.validate_files(args.files)
    print(report)
    if not ok:
        # The report above lists every problem; stderr gets the first one as one line.
        lines = report.splitlines()
        failed = [i for i, line in enumerate(lines) if line.endswith(": ERROR")]
        first = lines[failed[0] + 1].strip() if failed and failed[0] + 1 < len(lines) else ""
        more = f" (and {len(failed) - 1} more; see the report)" if len(failed) > 1 else ""
        print(f"error: {first or 'data validation failed'}{more}", file=sys.stderr)
    return 0 if ok else 1


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from toolkit.evaluation import evaluate_cli

    return evaluate_cli(args)


def _cmd_report(args: argparse.Namespace) -> int:
    from toolkit.report import build_report

    parameters = dict(args.parameters or [])
    index = build_report(
        out_dir=Path(args.out),
        notebooks=args.notebooks or None,
        parameters=parameters or None,
        parameters_file=args.parameters_file,
    )
    print(f"report written: {index}")
    return 0


def _cmd_execute(args: argparse.Namespace) -> int:
    from toolkit.report import execute_in_place

    for path in execute_in_place(args.notebooks):
        print(f"executed {path}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from toolkit.notebook_check import compare_notebooks, sanitizer

    committed = Path(args.committed)
    sanitize = sanitizer(committed / "sanitize.cfg")
    differing = 0
    for path in map(Path, args.executed):
        ref = committed / path.name
        if not path.is_file() or not ref.is_file():
            missing = path if not path.is_file() else ref
            raise ValueError(f"{missing}: no such notebook")
        found = compare_notebooks(path, ref, sanitize=sanitize)
        differing += bool(found)
        verdict = f"differs from {ref}" if found else f"the same findings as {ref}"
        print(f"{path}: {verdict}")
        for difference in found:
            print(f"  {difference}")
    return 1 if differing else 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``error:`` line, like every user error."""

    def error(self, message: str) -> NoReturn:
        """Print ``error: <message> (see '<prog> --help')`` to stderr and exit with status 2."""
        print(f"error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(2)


def _positive_int(text: str) -> int:
    """Argparse type of a count option: an integer >= 1 (checked by ``check_int``)."""
    try:
        return check_int(int(text), "value")
    except ValueError:  # not an integer, or < 1
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None


def _parameter(text: str) -> tuple[str, object]:
    from toolkit.report import parse_parameter

    try:
        return parse_parameter(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m toolkit", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    commands = [
        ("demo", "top-3 titles for the model card's queries", _demo_arguments),
        ("search", "ranked titles for your queries (dense, BM25, fusions)", _search_arguments),
        ("encode", "precomputed vectors of a set's texts, usable as a model", _encode_arguments),
        ("cache", "embedding cache", _cache_arguments),
        (
            "encode-corpus",
            "stream a corpus file into a resumable memory-mapped vector store",
            _encode_corpus_arguments,
        ),
        ("data", "validate data files or describe the demo set", _data_arguments),
        ("evaluate", "dense vs BM25 vs hybrid with 95%% CIs", _evaluate_arguments),
        ("report", "execute notebooks and render HTML into reports/", _report_arguments),
        ("execute", "restart and run notebooks in place (the committed outputs)",
         _execute_arguments),
        ("compare", "executed notebooks vs the committed ones, by meaning", _compare_arguments),
    ]
    for name, help_text, add_arguments in commands:
        add_arguments(sub.add_parser(name, help=help_text))
    return parser


def _demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="model id, folder or builtin name")
    p.add_argument("--top", type=_positive_int, default=3)
    p.set_defaults(func=_cmd_demo)


def _search_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("queries", nargs="+", help="query text(s); quote each one")
    p.add_argument("--model", default=None, help="model of the 'dense' system (default model)")
    p.add_argument("--data", default=None, help="pairs file or folder; default: demo set")
    p.add_argument("--k", type=_positive_int, default=10, help="titles per system (10)")
    p.add_argument(
        "--system", action="append", default=None,
        help="dense (the --model model), bm25, rrf(k=60), fusion(w=0.9, norm=zscore), "
        "a model name/folder; repeat for several (default: dense)",
    )
    p.add_argument(
        "--index", choices=["auto", "exact", "approx"], default="auto",
        help="dense search: exact, approximate (cached faiss HNSW, recall@10 printed on "
        "build) or auto (exact below 100,000 titles)",
    )
    p.set_defaults(func=_cmd_search)


def _encode_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="model id, folder or builtin name (default)")
    p.add_argument("--data", default=None, help="pairs file or folder; default: demo set "
                   "(not used when only --texts is given)")
    p.add_argument("--texts", action="append", default=None, metavar="FILE",
                   help="a UTF-8 file with one text per line (empty lines skipped); repeat "
                   "for several")
    p.add_argument("--out", required=True, help="the .parquet file to write")
    p.add_argument("--revision", default=None, help="hub revision of --model")
    p.add_argument("--device", default=None, help="torch device, e.g. cuda (default: auto)")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.set_defaults(func=_cmd_encode)


def _cache_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["info", "clear"])
    p.set_defaults(func=_cmd_cache)


def _encode_corpus_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Encode a CSV/Parquet/JSONL corpus chunk by chunk into DIR/vectors.npy "
        "(float32, memory-mapped), DIR/ids.txt and DIR/manifest.json; a killed run resumes "
        "where it stopped. Several --device values start a sentence-transformers "
        "multi-process pool (do not use that pool inside Jupyter: ST issue #2235)."
    )
    p.add_argument("file", help="corpus file: .csv, .parquet or .jsonl")
    p.add_argument("--out", required=True, help="store folder (resumed if unfinished)")
    p.add_argument("--model", default=None, help="model id, folder or builtin name (default)")
    p.add_argument("--id-column", default="id", help="id column (id)")
    p.add_argument("--text-column", default="title", help="text column (title)")
    p.add_argument("--chunk-size", type=_positive_int, default=4096, help="rows per chunk (4096)")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="model batch size (64)")
    p.add_argument("--device", default=None, help="cuda:0, or cuda:0,cuda:1 for a multi-GPU pool")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_encode_corpus)


def _data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["validate", "describe"])
    p.add_argument("files", nargs="*")
    p.set_defaults(func=_cmd_data)


def _evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None)
    p.add_argument("--data", default=None, help="pairs file or folder; default: demo set")
    p.add_argument("--split", default="test")
    p.add_argument("--baseline", action="append", choices=["bm25", "hybrid", "none"])
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_evaluate)


def _report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="reports")
    p.add_argument(
        "-p", "--parameter", dest="parameters", action="append", type=_parameter,
        metavar="NAME=VALUE",
        help="notebook parameter, typed like papermill's -p (True/False/None, int, float, "
        "else text); repeat for several. A name no notebook declares is an error; a name "
        "only some declare goes to those only",
    )
    p.add_argument(
        "-f", "--parameters-file", default=None, metavar="FILE",
        help="YAML or JSON file with a mapping NAME: value (like papermill's -f); values keep "
        "their YAML types (lists too); -p overrides it; checked like -p",
    )
    p.add_argument(
        "notebooks", nargs="*", metavar="NOTEBOOK",
        help="notebooks to run, in this order (default: every notebooks/NN_*.ipynb)",
    )
    p.set_defaults(func=_cmd_report)


def _execute_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebooks", nargs="+")
    p.set_defaults(func=_cmd_execute)


def _compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("executed", nargs="+", help="executed notebooks, e.g. reports/*.ipynb")
    p.add_argument(
        "--committed", default=str(Path(__file__).resolve().parents[1] / "notebooks"),
        help="folder of the committed notebooks (with sanitize.cfg); default: this checkout's",
    )
    p.set_defaults(func=_cmd_compare)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    from toolkit.data import DataError
    from toolkit.models import ModelNotAvailable
    from toolkit.report import DataNeedsError, ReportError

    try:
        return args.func(args)
    except DataNeedsError as exc:
        # the refusal is several lines (per notebook what the data lacks, the runnable ones and
        # the command for them): all of it on stdout, its first line as the one error line
        print(exc)
        print(f"error: {exc.summary}", file=sys.stderr)
        return 2
    except (
        DataError, ModelNotAvailable, ReportError, OSError, ValueError, TypeError
    ) as exc:
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
