using NUnit.Framework;

namespace GanEngine.Tests.Compiler;

/// <summary>A kernel touching most of the language: it must translate without diagnostics and its
/// generated C# must compile. (The CUDA/OpenCL text is checked by eye and by the backends.)</summary>
[TestFixture]
public sealed class KitchenSinkTests
{
    public const string Source = """
        using GanEngine.Kernels;
        using System;

        namespace Tests.K;

        public struct Params
        {
            public float Scale;
            public int Count;
            public double Bias;
        }

        public static partial class C
        {
            private const float Eps = 1e-5f;

            [Kernel, LaunchBounds(128, 2)]
            public static void Sink(ArrayView<float> data, ArrayView<int> counts, ReadOnlyView<uint> bits, Params p, long big, [Specialization] int width)
            {
                var tile = Shared.Allocate<float>(128);
                var dyn = Shared.Dynamic<uint>();
                int tid = ThreadIdx.X;
                tile[tid] = data.Length > tid ? data[tid] : float.NaN;
                dyn[tid] = bits[tid % bits.Length];
                Group.Barrier();
                Atomic.Max(ref tile[0], tile[tid]);
                Atomic.Add(ref counts[0], 1);
                uint mask = Warp.Ballot(tile[tid] > Eps);
                bool all = Warp.All(mask != 0u);
                uint moved = Warp.Shuffle(dyn[tid], 3);
                var fa = new MmaBf16A { A0 = Mma.PackBf16(1f, 2f), A1 = moved, A2 = 0u, A3 = mask };
                var fb = new MmaBf16B { B0 = Mma.PackBf16(0.5f, -0.5f), B1 = 0u };
                MmaAccumulator acc = default;
                acc = Mma.Bf16M16N8K16(fa, fb, acc);
                int sum = 0;
                int k = 0;
                do
                {
                    switch (k & 3)
                    {
                        case 0:
                            sum += k << (tid & 7);
                            break;
                        case 1:
                        case 2:
                            sum -= (int)((uint)k >> 1);
                            break;
                        default:
                            sum ^= int.MinValue;
                            break;
                    }
                    k++;
                }
                while (k < width);
                double d = p.Bias * 2.0 + big;
                float f = KMath.Clamp(acc.C0 * p.Scale, -1f, 1f) + (float)d + KMath.PopCount(mask) + KMath.DivCeil(p.Count, 4);
                int fromFloat = (int)f;
                long wide = big >>> 3;
                float Twice(float v) => v * 2f;
                data[tid] = Twice(f) + fromFloat + (all ? 1f : 0f) + (float)wide + Sum3(data, tid) + float.PositiveInfinity * 0f;
            }

            private static float Sum3(ArrayView<float> v, int i) => v[i] + v[(i + 1) % v.Length] + v[(i + 2) % v.Length];
        }
        """;

    [Test]
    public void TranslatesAndCompiles()
    {
        var result = GeneratorHarness.Run(Source);
        Assert.That(result.Errors, Is.Empty, string.Join("\n", result.Errors));
        Assert.That(result.OutputErrors, Is.Empty, result.GeneratedText);
        string cuda = result.DefinitionString("Sink", "cudaSource");
        string cl = result.DefinitionString("Sink", "openClSource");
        if (Environment.GetEnvironmentVariable("GANENGINE_DUMP_SINK") is { Length: > 0 } dir)
        {
            File.WriteAllText(Path.Combine(dir, "Sink.cu"), cuda);
            File.WriteAllText(Path.Combine(dir, "Sink.cl"), cl);
            File.WriteAllText(Path.Combine(dir, "Sink.g.cs"), result.GeneratedText);
        }
        Assert.That(cuda, Does.Contain("__launch_bounds__(128, 2)"));
        Assert.That(cuda, Does.Contain("extern __shared__ __align__(16) unsigned char ge_dynamic_shared[];"));
        Assert.That(cuda, Does.Contain("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"));
        Assert.That(cl, Does.Contain("#pragma OPENCL EXTENSION cl_khr_fp64 : enable"));
        Assert.That(cl, Does.Contain("__local uint4* ge_dynamic_shared"));
        Assert.That(cl, Does.Contain("__local uint* ge_ws)"));
        Assert.That(cl, Does.Contain("ge_atomic_max_f_l(&tile[0]"));
        Assert.That(cl, Does.Contain("convert_int_sat(f)"));
    }
}
