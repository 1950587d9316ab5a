using GanEngine.Accelerators;
using NUnit.Framework;

namespace GanEngine.Tests.Engine;

public sealed class KernelSourceMapTests
{
    private const string Source = """
        // prelude
        static inline int helper() { return 1; }
        #line 40 "Kernels/Scale.cs"
        __kernel void scale(__global float* x)
        {
        #line 43 "Kernels/Scale.cs"
            x[0] = undeclared;
        }
        """;

    [Test]
    public void LinesAfterADirectiveMapToTheCSharpFile()
    {
        Assert.That(KernelSourceMap.Locate(Source, 4), Is.EqualTo(("Kernels/Scale.cs", 40)));
        Assert.That(KernelSourceMap.Locate(Source, 5), Is.EqualTo(("Kernels/Scale.cs", 41)));
        Assert.That(KernelSourceMap.Locate(Source, 7), Is.EqualTo(("Kernels/Scale.cs", 43)));
        Assert.That(KernelSourceMap.Locate(Source, 2), Is.Null, "the prelude has no C# location");
    }

    [Test]
    public void AnonymousLocationsInABuildLogNameTheCSharpLine()
    {
        // NVIDIA's OpenCL compiler ignores #line and reports the generated line.
        string log = "<kernel>:7:12: error: use of undeclared identifier 'undeclared'\n<kernel>:2:1: note: in prelude";
        string mapped = KernelSourceMap.MapBuildLog(Source, log);
        Assert.That(mapped, Does.StartWith("Kernels/Scale.cs:43:12 [<kernel>:7:12]: error"));
        Assert.That(mapped, Does.Contain("\n<kernel>:2:1: note"), "lines without a C# origin stay as they were");
    }
}
