using NUnit.Framework;

namespace GanEngine.Tests.Compiler;

/// <summary>One test per rejected construct: the GEK id and the line (marked <c>//!</c> in the source).</summary>
[TestFixture]
public sealed class DiagnosticTests
{
    private static void Expect(string id, string source)
    {
        int line = source.Split('\n').Select((text, i) => (text, i)).First(x => x.text.Contains("//!", StringComparison.Ordinal)).i + 1;
        var result = GeneratorHarness.Run(source);
        var errors = result.Errors.ToList();
        string all = string.Join("\n", errors.Select(e => $"{e.Id} line {e.Location.GetLineSpan().StartLinePosition.Line + 1}: {e.GetMessage()}"));
        Assert.That(errors.Any(e => e.Id == id && e.Location.GetLineSpan().StartLinePosition.Line + 1 == line), Is.True,
            $"expected {id} at line {line}; got:\n{all}");
        var d = errors.First(e => e.Id == id);
        Assert.That(d.GetMessage(), Does.Contain("hint:"), "every rejection carries a hint");
        Assert.That(d.Location.GetLineSpan().Path, Is.EqualTo(GeneratorHarness.FileName));
    }

    private static string Body(string body, string extra = "") => GeneratorHarness.Kernel(
        "    [Kernel]\n    public static void K(ArrayView<float> x, ReadOnlyView<float> y, int n)\n    {\n" + body + "\n    }\n" + extra);

    [Test]
    public void NonStaticKernel() => Expect("GEK001",
        "using GanEngine.Kernels;\nnamespace T;\npublic partial class D\n{\n    [Kernel]\n    public void K(ArrayView<float> x) //!\n    {\n    }\n}\n");

    [Test]
    public void NonVoidKernel() => Expect("GEK002", GeneratorHarness.Kernel("    [Kernel]\n    public static int K(ArrayView<float> x) //!\n    {\n        return 0;\n    }"));

    [Test]
    public void ClassNotStaticPartial() => Expect("GEK003",
        "using GanEngine.Kernels;\nnamespace T;\npublic static class D\n{\n    [Kernel]\n    public static void K(ArrayView<float> x) //!\n    {\n    }\n}\n");

    [Test]
    public void OverloadedKernel() => Expect("GEK004", GeneratorHarness.Kernel(
        "    [Kernel]\n    public static void K(ArrayView<float> x) //!\n    {\n    }\n    public static void K(ArrayView<int> x)\n    {\n    }"));

    [Test]
    public void BoolParameter() => Expect("GEK005", GeneratorHarness.Kernel("    [Kernel]\n    public static void K(ArrayView<float> x, bool flag) //!\n    {\n    }"));

    [Test]
    public void StringParameter() => Expect("GEK005", GeneratorHarness.Kernel("    [Kernel]\n    public static void K(string s) //!\n    {\n    }"));

    [Test]
    public void ArrayParameter() => Expect("GEK005", GeneratorHarness.Kernel("    [Kernel]\n    public static void K(float[] s) //!\n    {\n    }"));

    [Test]
    public void SpanParameter() => Expect("GEK005", GeneratorHarness.Kernel("    [Kernel]\n    public static void K(Span<float> s) //!\n    {\n    }"));

    [Test]
    public void RefParameter() => Expect("GEK006", GeneratorHarness.Kernel("    [Kernel]\n    public static void K(ref int s) //!\n    {\n    }"));

    [Test]
    public void FloatSpecialization() => Expect("GEK007", GeneratorHarness.Kernel("    [Kernel]\n    public static void K(ArrayView<float> x, [Specialization] float s) //!\n    {\n    }"));

    [Test]
    public void Lambda() => Expect("GEK010", Body("        Func<int, int> f = i => i + 1; //!\n        x[0] = f(1);"));

    [Test]
    public void ClassCreation() => Expect("GEK011", Body("        var o = new object(); //!"));

    [Test]
    public void ManagedArray() => Expect("GEK011", Body("        var a = new float[4]; //!\n        x[0] = a[0];"));

    [Test]
    public void StringLiteral() => Expect("GEK012", Body("        var s = \"text\"; //!"));

    [Test]
    public void Throw() => Expect("GEK013", Body("        if (n < 0) throw new ArgumentException(); //!"));

    [Test]
    public void TryCatch() => Expect("GEK013", Body("        try { x[0] = 1f; } catch { } //!"));

    [Test]
    public void Linq() => Expect("GEK014", "using System.Linq;\n" + Body("        var q = from i in System.Linq.Enumerable.Range(0, 4) select i; //!"));

    [Test]
    public void BclCall() => Expect("GEK015", Body("        x[0] = MathF.Max(x[0], 1f); //!"));

    [Test]
    public void ForEach() => Expect("GEK016", Body("        Span<float> t = stackalloc float[4];\n        foreach (var v in t) //!\n        {\n            x[0] += v;\n        }"));

    [Test]
    public void Goto() => Expect("GEK017", Body("        again:\n        x[0] += 1f;\n        if (x[0] < 3f) goto again; //!"));

    [Test]
    public void NonConstantStackAlloc() => Expect("GEK018", Body("        Span<float> t = stackalloc float[n]; //!\n        x[0] = t[0];"));

    [Test]
    public void Pattern() => Expect("GEK019", Body("        if (n is > 3 and < 10) //!\n        {\n            x[0] = 1f;\n        }"));

    [Test]
    public void Dynamic() => Expect("GEK020", Body("        dynamic d = n; //!"));

    [Test]
    public void Unsafe() => Expect("GEK021", Body("        unsafe { int* p = null; } //!"));

    [Test]
    public void Recursion() => Expect("GEK022", Body("        x[0] = F(n);", "    private static float F(int i) //!\n    {\n        return i <= 0 ? 0f : F(i - 1) + 1f;\n    }"));

    [Test]
    public void BarrierUnderThreadCondition() => Expect("GEK023", Body("        if (ThreadIdx.X < 16)\n        {\n            Group.Barrier(); //!\n        }"));

    [Test]
    public void BarrierAfterNonUniformReturn() => Expect("GEK023", Body("        int i = BlockIdx.X * BlockDim.X + ThreadIdx.X;\n        if (i >= n)\n        {\n            return;\n        }\n        Group.Barrier(); //!"));

    [Test]
    public void ShuffleInNonUniformLoop() => Expect("GEK023", Body("        float v = 0f;\n        for (int i = ThreadIdx.X; i < n; i += BlockDim.X)\n        {\n            v = Warp.ShuffleDown(v, 1); //!\n        }\n        x[0] = v;"));

    [Test]
    public void ShuffleOnDataDependentCondition() => Expect("GEK023", Body("        float v = y[ThreadIdx.X];\n        if (v > 0f)\n        {\n            v = Warp.ShuffleXor(v, 1); //!\n        }\n        x[0] = v;"));

    [Test]
    public void HelperLoopBoundFromNonUniformArgument() => Expect("GEK023", Body("        Spin(x, ThreadIdx.X);",
        "    private static void Spin(ArrayView<float> v, int count)\n    {\n        for (int i = 0; i < count; i++)\n        {\n            Group.Barrier(); //!\n        }\n    }"));

    [Test]
    public void CollectiveInsideExpression() => Expect("GEK024", Body("        float v = 1f + Warp.ShuffleDown(x[0], 1); //!\n        x[0] = v;"));

    [Test]
    public void SharedAllocateNotTopLevel() => Expect("GEK025", Body("        if (n > 0)\n        {\n            var s = Shared.Allocate<float>(32); //!\n            s[0] = 1f;\n        }"));

    [Test]
    public void SharedAllocateNonConstant() => Expect("GEK025", Body("        var s = Shared.Allocate<float>(n); //!\n        s[0] = 1f;"));

    [Test]
    public void Checked() => Expect("GEK026", Body("        x[0] = checked(n * 2); //!"));

    [Test]
    public void CollectiveHelperWithRef() => Expect("GEK028", Body("        float v = 0f;\n        H(ref v);\n        x[0] = v;",
        "    private static void H(ref float v) //!\n    {\n        Group.Barrier();\n    }"));

    [Test]
    public void LocalFunctionCapture() => Expect("GEK029", Body("        float Twice() => x[0] * 2f; //!\n        x[1] = Twice();"));

    [Test]
    public void StaticField() => Expect("GEK030", Body("        x[0] = Scale; //!", "    private static float Scale = 2f;"));

    [Test]
    public void DynamicSharedLength() => Expect("GEK031", Body("        var s = Shared.Dynamic<float>();\n        x[0] = s.Length; //!"));
}
