#!/usr/bin/env python3
"""Renders one tool's man page (man(7) macros) from the JSON its `--experimental-dump-help` prints.

usage: man_page.py TOOL_BINARY OUTPUT_FILE [--date YYYY-MM-DD] [--source TEXT]

Everything comes from the argument-parser definitions: NAME from the abstract, SYNOPSIS and OPTIONS from the
arguments (defaults and allowed values included), DESCRIPTION, EXAMPLES and EXIT STATUS from the discussion, whose
`HEADING:` blocks become sections. A tool with subcommands (etlstatus) gets one SUBCOMMANDS entry each; the options
every subcommand shares are listed once, and an exit status table a subcommand repeats verbatim is printed once.
"""

import argparse
import datetime
import json
import re
import subprocess
import sys

HELP_NAMES = {"help"}  # argument-parser's own `help` subcommand and `-h/--help` flag: said once, in OPTIONS


def roff_text(text):
    """Escapes text for roff: backslashes, hyphens (so commands copy and paste), a leading control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"^([.'])", r"\\&\1", text, flags=re.MULTILINE)


def bold(text):
    return f"\\fB{roff_text(text)}\\fR"


def italic(text):
    return f"\\fI{roff_text(text)}\\fR"


def option_names(argument):
    names = []
    for name in argument.get("names", []):
        names.append(("-" if name["kind"] == "short" else "--") + name["name"])
    return names


def shown_arguments(command):
    return [a for a in command.get("arguments", []) if a.get("shouldDisplay", True)
            and not (a["kind"] == "flag" and "help" in [n["name"] for n in a.get("names", [])])]


def synopsis_item(argument):
    """`[--name value]`, `--name value`, `<value>` as the usage line shows them."""
    if argument["kind"] == "positional":
        item = italic(argument["valueName"])
    else:
        preferred = argument.get("preferredName") or argument["names"][0]
        flag = ("-" if preferred["kind"] == "short" else "--") + preferred["name"]
        item = bold(flag) if argument["kind"] == "flag" else f"{bold(flag)} {italic(argument['valueName'])}"
    if argument.get("isRepeating"):
        item += " \\&..."
    return f"[{item}]" if argument.get("isOptional") else item


def option_entry(argument):
    """One `.TP` entry: the names and value, then the help with its default and allowed values."""
    if argument["kind"] == "positional":
        head = italic(argument["valueName"])
    else:
        names = ", ".join(bold(n) for n in option_names(argument))
        head = names if argument["kind"] == "flag" else f"{names} {italic(argument['valueName'])}"
    text = argument.get("abstract", "")
    if argument.get("discussion"):
        text += " " + argument["discussion"]
    allowed = argument.get("allValues")
    if allowed and argument["kind"] != "flag" and not all(value in text for value in allowed):
        text += f" One of: {', '.join(allowed)}."
    default = argument.get("defaultValue")
    if default not in (None, "", "false") and "default" not in text.lower():
        text += f" Default: {default}."
    return [".TP", head, roff_text(text.strip())]


def discussion_blocks(text):
    """Splits a discussion into (heading, lines) blocks: text before the first `HEADING:` line has heading None."""
    blocks, heading, lines = [], None, []
    for line in (text or "").splitlines():
        match = re.fullmatch(r"([A-Z][A-Z ]+):", line.strip())
        if match and not line.startswith(" "):
            if heading is not None or any(l.strip() for l in lines):
                blocks.append((heading, lines))
            heading, lines = match.group(1), []
        else:
            lines.append(line)
    if heading is not None or any(l.strip() for l in lines):
        blocks.append((heading, lines))
    return blocks


def body(lines):
    """Paragraphs joined into filled text; indented lines kept as they are (examples, tables)."""
    out, paragraph, verbatim = [], [], []

    def flush():
        if paragraph:
            out.extend([".PP", roff_text(" ".join(paragraph))])
            paragraph.clear()
        if verbatim:
            out.extend([".PP", ".nf", ".RS 4"] + [roff_text(l) for l in verbatim] + [".RE", ".fi"])
            verbatim.clear()

    for line in lines:
        if not line.strip():
            flush()
        elif line.startswith("  "):
            if paragraph:
                flush()
            verbatim.append(line[2:])
        else:
            if verbatim:
                flush()
            paragraph.append(line.strip())
    flush()
    return out


def exit_status_entries(lines):
    """`  64  wrong command line` lines (continuations indented further) as `.TP` entries."""
    entries = []
    for line in lines:
        match = re.match(r"\s*(\d+)\s+(.*)", line)
        if match:
            entries.append([match.group(1), match.group(2).strip()])
        elif line.strip() and entries:
            entries[-1][1] += " " + line.strip()
    out = [".PD 0"]  # one line per code, no blank line between
    for code, meaning in entries:
        out.extend([".TP 6", bold(code), roff_text(meaning)])
    return out + [".PD"]


def render(command, date, source):
    name = command["commandName"]
    subcommands = [s for s in command.get("subcommands", []) if s["commandName"] not in HELP_NAMES]
    out = [
        f'.TH "{name.upper()}" "1" "{date}" "{source}" "User Commands"',
        ".nh",  # no hyphenation: option names and commands stay whole
        ".ad l",
        ".SH NAME",
        f"{roff_text(name)} \\- {roff_text(command.get('abstract', ''))}",
        ".SH SYNOPSIS",
    ]
    own = shown_arguments(command)
    if subcommands:
        # Options every subcommand shares are the tool's global options.
        shared = [a for a in shown_arguments(subcommands[0])
                  if all(any(b.get("names") == a.get("names") and b.get("names") for b in shown_arguments(s))
                         for s in subcommands)]
        out.append(f".B {roff_text(name)}\n" + " ".join(synopsis_item(a) for a in shared)
                   + f" {italic('subcommand')} [{italic('options')}]")
    else:
        shared = own
        out.append(f".B {roff_text(name)}\n" + " ".join(synopsis_item(a) for a in own))

    blocks = discussion_blocks(command.get("discussion"))
    root_exit = next((lines for heading, lines in blocks if heading == "EXIT STATUS"), None)
    description = [lines for heading, lines in blocks if heading is None]
    out.append(".SH DESCRIPTION")
    out.extend([".PP", roff_text(command.get("abstract", ""))])
    for lines in description:
        out.extend(body(lines))

    out.append(".SH OPTIONS")
    for argument in shared:
        out.extend(option_entry(argument))
    out.extend([".TP", f"{bold('-h')}, {bold('--help')}", "Show help information."])

    if subcommands:
        out.append(".SH SUBCOMMANDS")
        shared_names = [a.get("names") for a in shared]
        for sub in subcommands:
            specific = [a for a in shown_arguments(sub) if a.get("names") not in shared_names or not a.get("names")]
            out.append(f'.SS "{roff_text(sub["commandName"])}"')
            out.append(f".B {roff_text(name)} {roff_text(sub['commandName'])}\n"
                       + " ".join(synopsis_item(a) for a in specific))
            out.extend([".PP", roff_text(sub.get("abstract", ""))])
            for heading, lines in discussion_blocks(sub.get("discussion")):
                if heading == "EXIT STATUS" and [l.strip() for l in lines] == [l.strip() for l in root_exit or []]:
                    continue
                if heading == "EXIT STATUS":
                    out.extend([".PP", "Exit status:", ".RS 4"] + exit_status_entries(lines) + [".RE"])
                elif heading:
                    out.extend([".PP", roff_text(heading.capitalize() + ":")] + body(lines))
                else:
                    out.extend(body(lines))
            if specific:
                out.extend([".PP", "Options:", ".RS 4"])
                for argument in specific:
                    out.extend(option_entry(argument))
                out.append(".RE")

    for heading, lines in blocks:
        if heading is None:
            continue
        out.append(f'.SH "{heading}"')
        out.extend(exit_status_entries(lines) if heading == "EXIT STATUS" else body(lines))

    others = ["mongo-schema", "mongo-reader", "psql-copy", "oplog-sync", "etlstatus"]
    out.append(".SH SEE ALSO")
    out.append(",\n".join(f".BR {roff_text(n)} (1)" for n in others if n != name))
    out.extend([".PP", roff_text("Every configuration key is described in sample-config.ini, installed in "
                                 "share/doc/mongo-pg-sync/ under the prefix (/usr/share/doc/mongo-pg-sync/ from the "
                                 "Debian package).")])
    return "\n".join(out) + "\n"


def tool_version(binary):
    """The tool's `--version`, when it has one (empty otherwise)."""
    try:
        result = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return ""
    line = result.stdout.strip().splitlines()[0] if result.returncode == 0 and result.stdout.strip() else ""
    return line if len(line) < 60 else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("output")
    parser.add_argument("--date", default=datetime.date.today().isoformat())
    parser.add_argument("--source", default="mongo-pg-sync")
    options = parser.parse_args()
    dump = subprocess.run([options.binary, "--experimental-dump-help"], capture_output=True, text=True, timeout=60)
    if dump.returncode != 0:
        sys.exit(f"man_page: {options.binary} --experimental-dump-help exited {dump.returncode}: {dump.stderr}")
    command = json.loads(dump.stdout)["command"]
    version = tool_version(options.binary)
    source = options.source if not version or options.source in version else f"{options.source} {version}"
    with open(options.output, "w", encoding="utf-8") as file:
        file.write(render(command, options.date, source))


if __name__ == "__main__":
    main()
