"""Prints the troubleshooting tables of docs/operations.md: every SparkGPT error message in src/main, by stage.

usage: python3 docs/tools/error_table.py > /tmp/errors.md   (then paste over the tables at the end of operations.md)
"""
import collections
import os
import re

STAGES = {'config': 'Config (every verb)', 'io': 'Files: checkpoints, safetensors, outputs',
          'data': 'tokenize / shards', 'tokenizer': 'tokenizer', 'jobs': 'jobs (tokenize, pretrain, eval, pipeline)',
          'train': 'pretrain', 'finetune': 'finetune', 'eval': 'eval', 'generate': 'generate / chat',
          'report': 'report', 'cli': 'CLI tools (convert, forward, classify, shards)', 'model': 'model',
          'serve': 'serve'}
GENERIC = {'IllegalArgumentException', 'IllegalStateException', 'UnsupportedOperationException', 'IOException',
           'UncheckedIOException', 'NullPointerException', 'AssertionError', 'ArithmeticException',
           'IndexOutOfBoundsException', 'NoSuchElementException'}
NEW = re.compile(r'new (\w+(?:Exception|Error))\(\s*((?:[^;])*?)\);', re.S)
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')

groups = collections.OrderedDict()
for root, _, files in sorted(os.walk('src/main/java/dev/sparkgpt')):
    for name in sorted(files):
        path = os.path.join(root, name)
        package = path.split('/')[5] if path.count('/') > 5 else 'sparkgpt'
        for m in NEW.finditer(open(path, encoding='utf-8').read()):
            literals = [l for l in LITERAL.findall(m.group(2)) if l.strip()]
            if m.group(1) in GENERIC or not literals:
                continue
            text = re.sub(r'\s+', ' ', ' … '.join(literals)).replace('|', '\\|')
            text, _, fix = text.partition('Fix:')
            groups.setdefault(package, []).append((m.group(1), name, text.strip(' .…'), fix.strip(' .…')))
for package, rows in groups.items():
    print(f"\n### {STAGES.get(package, package)}\n")
    print("| message (`…` = the file, key or value it names) | raised in | fix |\n|---|---|---|")
    for exc, name, text, fix in rows:
        print(f"| {text[:170]} | `{name}` ({exc}) | {fix[:220] or 'the message names the key or file and what was expected'} |")
