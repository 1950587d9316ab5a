#!/usr/bin/env python3
"""Writes the cudaSource of each generated kernel (.g.cs from
`dotnet build Kernels/Library -p:EmitCompilerGeneratedFiles=true -p:CompilerGeneratedFilesOutputPath=DIR`)
to OUT/<Class>.<Kernel>.cu, so nvcc -Xptxas -v / cuobjdump can read registers, spills and SASS."""
import json, pathlib, re, sys

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
for f in src.rglob("*.g.cs"):
    m = re.search(r'cudaSource: ("(?:[^"\\]|\\.)*")', f.read_text())
    if not m:
        continue
    # C# regular string literal escapes used by the generator are a subset of JSON's.
    text = json.loads(m.group(1))
    name = f.name.replace("GanEngine.Kernels.", "").replace(".g.cs", ".cu")
    (out / name).write_text(text)
    print(out / name)
