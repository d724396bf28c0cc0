#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Builds the embedded question/answer set from the quiz files of Debian's bsdgames.

Usage:  apt-get install -y bsdgames && python3 data/scripts/make_quiz_qa.py [QUIZ_DIR] [OUT_DIR]
Writes OUT_DIR/train.jsonl and OUT_DIR/test.jsonl (default: the data module's resources), one object per
line: {"prompt": "Question: ...\\nAnswer:", "response": " <first answer>", "answers": [...], "subject": ...}.
About one pair in ten is held out, chosen by a hash of the prompt, so reruns give the same split.

Quiz file syntax (quiz(6)): fields are separated by ':'; 'a|b' are alternatives, '{a}' is optional,
'[a|b]' groups alternatives, '\\' quotes the next character and, at the end of a line, continues it.
"""
import hashlib
import json
import sys
from pathlib import Path

# (file, question field, answer field, question template); a field is a 0-based index in a data line.
TEMPLATES = [
    ("africa", 0, 1, "What is the capital of {}?"),
    ("america", 0, 1, "What is the capital of {}?"),
    ("asia", 0, 1, "What is the capital of {}?"),
    ("europe", 0, 1, "What is the capital of {}?"),
    ("province", 0, 1, "What is the capital of the Canadian province of {}?"),
    ("state", 0, 1, "What is the capital of the US state of {}?"),
    ("state", 0, 2, "What is the postal abbreviation of the US state of {}?"),
    ("state", 0, 3, "What is the state flower of {}?"),
    ("elements", 3, 0, "What is the chemical symbol of {}?"),
    ("elements", 0, 3, "Which chemical element has the symbol {}?"),
    ("elements", 3, 1, "What is the atomic number of {}?"),
    ("elements", 1, 3, "Which chemical element has atomic number {}?"),
    ("collectives", 0, 1, "What is the collective noun for a group of {}?"),
    ("babies", 1, 0, "What is a young {} called?"),
    ("sexes", 0, 1, "What is the female counterpart of {}?"),
    ("latin", 0, 1, "What does the Latin word '{}' mean in English?"),
    ("flowers", 0, 1, "In the language of flowers, what does {} mean?"),
    ("pres", 0, 2, "Who was vice president under US President {}?"),
    ("pres", 0, 3, "Who succeeded {} as President of the United States?"),
    ("sov", 0, 2, "Who succeeded {} on the English throne?"),
    ("inca", 0, 1, "Who succeeded the Inca ruler {}?"),
    ("morse", 0, 1, "What is the Morse code for the letter {}?"),
    ("posneg", 0, 1, "What is the opposite of '{}'?"),
    ("chinese", 0, 1, "In the Chinese zodiac, which year comes after the year of the {}?"),
]
# Values that quiz uses for "unknown" rather than an answer.
UNKNOWN = {"gok", "?"}
# A typo in the pres file ('J{oe{seph}}' expands to 'Joeseph').
CORRECTIONS = {"Joeseph": "Joseph"}


def logical_lines(text):
    """Joins lines that end in an unquoted backslash with the next one."""
    out, cur = [], ""
    for line in text.split("\n"):
        if line.endswith("\\") and not line.endswith("\\\\"):
            cur += line[:-1]
            continue
        cur += line
        if cur.strip():
            out.append(cur)
        cur = ""
    return out


def split_fields(line):
    """Splits on ':' outside quotes and brackets."""
    fields, cur, depth, i = [], "", 0, 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            cur += line[i:i + 2]
            i += 2
            continue
        depth += c in "{[" and 1 or c in "}]" and -1 or 0
        if c == ":" and depth == 0:
            fields.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    return fields + [cur]


def expand(pattern, i=0, closer=None):
    """All strings a pattern matches, the fullest first; returns (strings, index after the pattern)."""
    options, cur = [], [""]
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            cur = [s + pattern[i + 1] for s in cur]
            i += 2
        elif c == "|":
            options += cur
            cur = [""]
            i += 1
        elif c in "{[":
            sub, i = expand(pattern, i + 1, "}" if c == "{" else "]")
            if c == "{":
                sub = sub + [""]  # optional: with it first, then without
            cur = [s + t for s in cur for t in sub]
        elif c == closer:
            return dedupe(options + cur), i + 1
        else:
            cur = [s + c for s in cur]
            i += 1
    return dedupe(options + cur), i


def dedupe(items):
    seen, out = set(), []
    for s in items:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def clean(strings):
    """Collapses runs of spaces, fixes known typos, drops empty and repeated strings."""
    out = []
    for s in strings:
        s = " ".join(s.split())
        for wrong, right in CORRECTIONS.items():
            s = s.replace(wrong, right)
        if s:
            out.append(s)
    return dedupe(out)


def pairs(quiz_dir):
    for subject, q, a, template in TEMPLATES:
        for line in logical_lines((quiz_dir / subject).read_text(encoding="utf-8", errors="strict")):
            fields = split_fields(line)
            if max(q, a) >= len(fields):
                continue
            questions = clean(expand(fields[q])[0])
            answers = [s for s in clean(expand(fields[a])[0]) if s.lower() not in UNKNOWN]
            # Optional parts can leave fragments such as ", Jr" or a lone initial: not accepted answers.
            answers = answers[:1] + [s for s in answers[1:] if s[0].isalnum() and len(s) > 1]
            if not questions or not answers:
                continue  # quiz itself skips empty questions and answers
            prompt = "Question: " + template.format(questions[0]) + "\nAnswer:"
            yield {"prompt": prompt, "response": " " + answers[0], "answers": answers, "subject": subject}


def main():
    quiz_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/games/bsdgames/quiz")
    out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else
                   Path(__file__).resolve().parent.parent / "src/main/resources/spindle/data/quiz")
    if not (quiz_dir / "index").exists():
        sys.exit(f"{quiz_dir} has no quiz files: run 'apt-get install -y bsdgames' first")
    out_dir.mkdir(parents=True, exist_ok=True)
    seen, split = set(), {"train": [], "test": []}
    for p in pairs(quiz_dir):
        if p["prompt"] in seen:
            continue
        seen.add(p["prompt"])
        held_out = hashlib.sha256(p["prompt"].encode("utf-8")).digest()[0] % 10 == 0
        split["test" if held_out else "train"].append(p)
    for name, rows in split.items():
        with open(out_dir / f"{name}.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{out_dir / name}.jsonl: {len(rows)} pairs")


if __name__ == "__main__":
    main()
