using NUnit.Framework;

namespace GanEngine.Tests.Compiler;

/// <summary>Generated CUDA C and OpenCL C compared with checked-in golden files
/// (GANENGINE_UPDATE_GOLDEN=1 rewrites them).</summary>
[TestFixture]
public sealed class GoldenTests
{
    public static readonly (string Name, string Kernel, string Source)[] Cases =
    {
        ("Axpy", "Axpy", GeneratorHarness.Kernel("""
            [Kernel]
            public static void Axpy(ArrayView<float> y, ReadOnlyView<float> x, float a, int n)
            {
                int i = BlockIdx.X * BlockDim.X + ThreadIdx.X;
                if (i < n)
                {
                    y[i] = KMath.Fma(a, x[i], y[i]);
                }
            }
        """)),
        ("Reduce", "Sum", GeneratorHarness.Kernel("""
            [Kernel, LaunchBounds(256)]
            public static void Sum(ReadOnlyView<float> input, ArrayView<float> output, int n)
            {
                var partial = Shared.Allocate<float>(256 / Warp.Size);
                int tid = ThreadIdx.X;
                float sum = 0f;
                for (int i = BlockIdx.X * BlockDim.X + tid; i < n; i += BlockDim.X * GridDim.X)
                {
                    sum += input[i];
                }
                for (int offset = 16; offset > 0; offset >>= 1)
                {
                    sum += Warp.ShuffleDown(sum, offset);
                }
                if (Warp.LaneId == 0)
                {
                    partial[Warp.WarpId] = sum;
                }
                Group.Barrier();
                float total = tid < BlockDim.X / Warp.Size ? partial[tid] : 0f;
                total = WarpSum(total);
                if (tid == 0)
                {
                    Atomic.Add(ref output[0], total);
                }
            }

            private static float WarpSum(float v)
            {
                for (int offset = 16; offset > 0; offset >>= 1)
                {
                    float other = Warp.ShuffleXor(v, offset);
                    v += other;
                }
                return v;
            }
        """)),
        ("Tiled", "RowSums", GeneratorHarness.Kernel("""
            private const int Unroll = 4;

            [Kernel]
            public static void RowSums(ReadOnlyView<float> m, ArrayView<float> sums, int columns, [Specialization] int tile)
            {
                Span<float> acc = stackalloc float[tile * Unroll];
                int row = BlockIdx.X * BlockDim.X + ThreadIdx.X;
                if (row * tile >= sums.Length)
                {
                    return;
                }
                for (int c = 0; c < columns; c++)
                {
                    for (int r = 0; r < tile; r++)
                    {
                        acc[(r * Unroll) + (c & (Unroll - 1))] += m[((row * tile) + r) * columns + c];
                    }
                }
                for (int r = 0; r < tile; r++)
                {
                    float s = 0f;
                    for (int u = 0; u < Unroll; u++)
                    {
                        s += acc[(r * Unroll) + u];
                    }
                    sums[(row * tile) + r] = s * 0.5f + (float)(c2(r) >> 1);
                }
            }

            private static int c2(int x) => (x << 3) ^ (int)(x * 1.5f);
        """)),
        ("MmaTf32", "Tile16x8", GeneratorHarness.Kernel("""
            [Kernel, LaunchBounds(32)]
            public static void Tile16x8(ReadOnlyView<float> a, ReadOnlyView<float> b, ArrayView<float> c)
            {
                int lane = Warp.LaneId;
                int g = lane >> 2, t = lane & 3;
                var fa = new MmaTf32A
                {
                    A0 = Mma.ToTf32(a[(g * 8) + t]),
                    A1 = Mma.ToTf32(a[((g + 8) * 8) + t]),
                    A2 = Mma.ToTf32(a[(g * 8) + t + 4]),
                    A3 = Mma.ToTf32(a[((g + 8) * 8) + t + 4]),
                };
                var fb = new MmaTf32B { B0 = b[(t * 8) + g], B1 = b[((t + 4) * 8) + g] };
                var acc = default(MmaAccumulator);
                acc = Mma.Tf32M16N8K8(fa, fb, acc);
                c[(g * 8) + (2 * t)] = acc.C0;
                c[(g * 8) + (2 * t) + 1] = acc.C1;
                c[((g + 8) * 8) + (2 * t)] = acc.C2;
                c[((g + 8) * 8) + (2 * t) + 1] = acc.C3;
            }
        """)),
    };

    private static IEnumerable<TestCaseData> Sources()
    {
        foreach (var c in Cases)
        {
            yield return new TestCaseData(c.Name, c.Kernel, c.Source, "cudaSource", ".cu").SetName("Golden_" + c.Name + "_Cuda");
            yield return new TestCaseData(c.Name, c.Kernel, c.Source, "openClSource", ".cl").SetName("Golden_" + c.Name + "_OpenCl");
        }
    }

    [TestCaseSource(nameof(Sources))]
    public void MatchesGolden(string name, string kernel, string source, string argument, string extension)
    {
        var result = GeneratorHarness.Run(source);
        Assert.That(result.Errors, Is.Empty, result.GeneratedText);
        Assert.That(result.OutputErrors, Is.Empty, result.GeneratedText);
        string actual = result.DefinitionString(kernel, argument);
        string path = Path.Combine(GeneratorHarness.GoldenDirectory(), name + extension);
        if (Environment.GetEnvironmentVariable("GANENGINE_UPDATE_GOLDEN") == "1" || !File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            if (Environment.GetEnvironmentVariable("GANENGINE_UPDATE_GOLDEN") != "1")
            {
                Assert.Fail($"Golden file {path} was missing and has been written; review it and rerun.");
            }
        }
        Assert.That(actual, Is.EqualTo(File.ReadAllText(path)), $"Generated {argument} differs from {path} (set GANENGINE_UPDATE_GOLDEN=1 to accept).");
    }
}
