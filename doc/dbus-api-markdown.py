#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the D-Bus API reference (Markdown) from dbus/*.xml and the
gdbus-codegen style comments in them: dbus-api-markdown.py OUT XML..."""

import sys
import textwrap
import xml.etree.ElementTree as ElementTree


def parse(path):
    parser = ElementTree.XMLParser(target=ElementTree.TreeBuilder(insert_comments=True))
    with open(path, encoding="utf-8") as xml_file:
        return ElementTree.fromstring(xml_file.read(), parser=parser)


def comment_text(comment):
    """The body of a 'Name: text' comment, without the name line."""
    text = textwrap.dedent(comment.text or "").strip("\n")
    lines = text.splitlines()
    if lines and lines[0].rstrip().endswith(":"):
        lines = lines[1:]
    lines = [line for line in lines if not line.strip().startswith("@short_description")]
    text = textwrap.dedent("\n".join(lines)).strip()
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def signature(element):
    args = []
    for arg in element.findall("arg"):
        direction = arg.get("direction", "in")
        prefix = "out " if direction == "out" and element.tag == "method" else ""
        args.append(f"{prefix}{arg.get('type')} {arg.get('name', '')}".strip())
    return ", ".join(args)


def interface_markdown(node):
    out = []
    pending = None
    header = None
    for child in node:
        if child.tag is ElementTree.Comment:
            header = comment_text(child)
        elif child.tag == "interface":
            out.append(f"## {child.get('name')}\n")
            if header:
                out.append(header + "\n")
            sections = {"method": [], "property": [], "signal": []}
            for member in child:
                if member.tag is ElementTree.Comment:
                    pending = comment_text(member)
                    continue
                if member.tag not in sections:
                    continue
                name = member.get("name")
                if member.tag == "property":
                    title = f"`{name}` {member.get('type')} ({member.get('access')})"
                else:
                    title = f"`{name}({signature(member)})`"
                sections[member.tag].append(f"#### {title}\n\n{pending or ''}\n")
                pending = None
            for tag, heading in (("method", "Methods"), ("property", "Properties"),
                                 ("signal", "Signals")):
                if sections[tag]:
                    out.append(f"### {heading}\n")
                    out.extend(sections[tag])
    return "\n".join(out)


def main():
    output, paths = sys.argv[1], sorted(sys.argv[2:])
    parts = ["# sfbd D-Bus API reference\n",
             "Generated from the introspection XML (dbus/*.xml), the only definition "
             "of the API. Bus name `org.sfbd.Sfbd`, object `/org/sfbd/Sfbd`, errors "
             "`org.sfbd.Sfbd.Error.<Name>`. The `Sfbd1` interfaces are stable: changes "
             "only add members.\n"]
    parts.extend(interface_markdown(parse(path)) for path in paths)
    with open(output, "w", encoding="utf-8") as out:
        out.write("\n".join(parts))


if __name__ == "__main__":
    main()
