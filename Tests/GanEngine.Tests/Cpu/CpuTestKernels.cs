using GanEngine.Kernels;
using GanEngine.Kernels.Cpu;

namespace GanEngine.Tests.Cpu;

/// <summary>
/// Kernels for the CPU accelerator tests, with their <see cref="KernelDefinition"/>s and CPU entry
/// points written by hand the way the source generator will emit them (the generator is not ready).
/// Deliberately no <c>[Kernel]</c> attribute and no <c>partial</c>: once the generator lands it must
/// not also generate definitions for these. Kernels with collectives are written directly as the
/// generator's iterator rewrite: <c>Phase = Arrive; collective; yield return 0; statement;</c>.
/// </summary>
internal static class CpuTestKernels
{
    // ---- helpers standing in for generated code --------------------------------------------------

    private static KernelDefinition Define(string name, KernelFeatures features, CpuKernelFactory cpu, params KernelParameter[] parameters) =>
        new(
            $"GanEngine.Tests.Cpu.CpuTestKernels.{name}",
            $"GanEngine_Tests_Cpu_CpuTestKernels_{name}",
            cudaSource: string.Empty,
            openClSource: string.Empty,
            parameters,
            features,
            maxThreadsPerBlock: 0,
            minBlocksPerMultiprocessor: 0,
            sourceFile: "Tests/GanEngine.Tests/Cpu/CpuTestKernels.cs",
            sourceLine: 1,
            cpu);

    private static KernelParameter View(string name, string type, int size) => new(name, KernelArgumentKind.Buffer, type, size);

    private static KernelParameter ReadOnly(string name, string type, int size) => new(name, KernelArgumentKind.ReadOnlyBuffer, type, size);

    private static KernelParameter Scalar(string name, string type, int size) => new(name, KernelArgumentKind.Scalar, type, size);

    private static void Arrive() => CpuThread.Current.Phase = CollectivePhase.Arrive;

    // ---- Axpy: y = a * x + y (independent) -------------------------------------------------------

    public static void Axpy(float a, ReadOnlyView<float> x, ArrayView<float> y)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < y.Length)
        {
            y[i] = (a * x[i]) + y[i];
        }
    }

    public static KernelDefinition AxpyDefinition { get; } = Define(
        nameof(Axpy), KernelFeatures.None,
        static args =>
        {
            float a = args[0].GetScalar<float>();
            var x = args[1].GetReadOnlyView<float>();
            var y = args[2].GetView<float>();
            return CpuKernelBody.Independent(() => Axpy(a, x, y));
        },
        Scalar("a", "float", 4), ReadOnly("x", "float", 4), View("y", "float", 4));

    // ---- BlockSum: per-block sum with shared memory, barriers and warp shuffles (256 threads) ------

    // Source form:
    //   var partial = Shared.Allocate<float>(256);
    //   int t = ThreadIdx.X; int i = BlockIdx.X * BlockDim.X + t;
    //   partial[t] = i < input.Length ? input[i] : 0f;
    //   Group.Barrier();
    //   for (int s = 128; s >= 32; s >>= 1) { if (t < s) partial[t] += partial[t + s]; Group.Barrier(); }
    //   float v = t < 32 ? partial[t] : 0f;
    //   for (int o = 16; o > 0; o >>= 1) { v += Warp.ShuffleDown(v, o); }
    //   if (t == 0) output[BlockIdx.X] = v;
    public static IEnumerable<int> BlockSum__CpuSync(ReadOnlyView<float> input, ArrayView<float> output)
    {
        var partial = Shared.Allocate<float>(256);
        int t = ThreadIdx.X;
        int i = (BlockIdx.X * BlockDim.X) + t;
        partial[t] = i < input.Length ? input[i] : 0f;
        Arrive(); Group.Barrier(); yield return 0; Group.Barrier();
        for (int s = 128; s >= 32; s >>= 1)
        {
            if (t < s)
            {
                partial[t] += partial[t + s];
            }
            Arrive(); Group.Barrier(); yield return 0; Group.Barrier();
        }
        float v = t < 32 ? partial[t] : 0f;
        for (int o = 16; o > 0; o >>= 1)
        {
            Arrive(); Warp.ShuffleDown(v, o); yield return 0; v += Warp.ShuffleDown(v, o);
        }
        if (t == 0)
        {
            output[BlockIdx.X] = v;
        }
    }

    public static KernelDefinition BlockSumDefinition { get; } = Define(
        "BlockSum", KernelFeatures.Barrier | KernelFeatures.WarpCollectives | KernelFeatures.StaticShared,
        static args =>
        {
            var input = args[0].GetReadOnlyView<float>();
            var output = args[1].GetView<float>();
            return CpuKernelBody.Synchronous(() => BlockSum__CpuSync(input, output));
        },
        ReadOnly("input", "float", 4), View("output", "float", 4));

    // ---- WarpOps: every shuffle flavour and a ballot, back to back -------------------------------

    // out[i*4+0] = ShuffleXor(v, mask); out[i*4+1] = ShuffleUp(v, 3); out[i*4+2] = Shuffle(v, src);
    // out[i*4+3] = bits of Ballot(v > 0.5f)
    public static IEnumerable<int> WarpOps__CpuSync(ReadOnlyView<float> input, ArrayView<float> output, int mask, int source)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        float v = input[i];
        Arrive(); Warp.ShuffleXor(v, mask); yield return 0; float xor = Warp.ShuffleXor(v, mask);
        Arrive(); Warp.ShuffleUp(v, 3); yield return 0; float up = Warp.ShuffleUp(v, 3);
        Arrive(); Warp.Shuffle(v, source); yield return 0; float index = Warp.Shuffle(v, source);
        Arrive(); Warp.Ballot(v > 0.5f); yield return 0; uint ballot = Warp.Ballot(v > 0.5f);
        output[(i * 4) + 0] = xor;
        output[(i * 4) + 1] = up;
        output[(i * 4) + 2] = index;
        output[(i * 4) + 3] = BitConverter.UInt32BitsToSingle(ballot);
    }

    public static KernelDefinition WarpOpsDefinition { get; } = Define(
        "WarpOps", KernelFeatures.WarpCollectives,
        static args =>
        {
            var input = args[0].GetReadOnlyView<float>();
            var output = args[1].GetView<float>();
            int mask = args[2].GetScalar<int>();
            int source = args[3].GetScalar<int>();
            return CpuKernelBody.Synchronous(() => WarpOps__CpuSync(input, output, mask, source));
        },
        ReadOnly("input", "float", 4), View("output", "float", 4), Scalar("mask", "int", 4), Scalar("source", "int", 4));

    // ---- MmaTf32: each warp computes D = A * B + C for its own 16x8x8 tile ------------------------

    // a: 16x8 row-major per warp (128 floats), b: 8x8 k-major (b[k * 8 + n], 64 floats), c/d: 16x8 row-major.
    public static IEnumerable<int> MmaTf32__CpuSync(ReadOnlyView<float> a, ReadOnlyView<float> b, ReadOnlyView<float> c, ArrayView<float> d)
    {
        int warp = ThreadIdx.X / 32;
        int lane = ThreadIdx.X % 32;
        int g = lane / 4, t = lane % 4;
        int aBase = warp * 128, bBase = warp * 64;
        var fa = new MmaTf32A
        {
            A0 = a[aBase + (g * 8) + t],
            A1 = a[aBase + ((g + 8) * 8) + t],
            A2 = a[aBase + (g * 8) + t + 4],
            A3 = a[aBase + ((g + 8) * 8) + t + 4],
        };
        var fb = new MmaTf32B { B0 = b[bBase + (t * 8) + g], B1 = b[bBase + ((t + 4) * 8) + g] };
        var acc = new MmaAccumulator
        {
            C0 = c[aBase + (g * 8) + (2 * t)],
            C1 = c[aBase + (g * 8) + (2 * t) + 1],
            C2 = c[aBase + ((g + 8) * 8) + (2 * t)],
            C3 = c[aBase + ((g + 8) * 8) + (2 * t) + 1],
        };
        Arrive(); Mma.Tf32M16N8K8(fa, fb, acc); yield return 0; acc = Mma.Tf32M16N8K8(fa, fb, acc);
        d[aBase + (g * 8) + (2 * t)] = acc.C0;
        d[aBase + (g * 8) + (2 * t) + 1] = acc.C1;
        d[aBase + ((g + 8) * 8) + (2 * t)] = acc.C2;
        d[aBase + ((g + 8) * 8) + (2 * t) + 1] = acc.C3;
    }

    public static KernelDefinition MmaTf32Definition { get; } = Define(
        "MmaTf32", KernelFeatures.Mma,
        static args =>
        {
            var a = args[0].GetReadOnlyView<float>();
            var b = args[1].GetReadOnlyView<float>();
            var c = args[2].GetReadOnlyView<float>();
            var d = args[3].GetView<float>();
            return CpuKernelBody.Synchronous(() => MmaTf32__CpuSync(a, b, c, d));
        },
        ReadOnly("a", "float", 4), ReadOnly("b", "float", 4), ReadOnly("c", "float", 4), View("d", "float", 4));

    // ---- DivergentBarrier: threads below `split` return before the barrier (a kernel bug) ---------

    public static IEnumerable<int> DivergentBarrier__CpuSync(ArrayView<int> output, int split)
    {
        if (ThreadIdx.X < split)
        {
            yield break;
        }
        Arrive(); Group.Barrier(); yield return 0; Group.Barrier();
        output[ThreadIdx.X] = 1;
    }

    public static KernelDefinition DivergentBarrierDefinition { get; } = Define(
        "DivergentBarrier", KernelFeatures.Barrier,
        static args =>
        {
            var output = args[0].GetView<int>();
            int split = args[1].GetScalar<int>();
            return CpuKernelBody.Synchronous(() => DivergentBarrier__CpuSync(output, split));
        },
        View("output", "int", 4), Scalar("split", "int", 4));

    // ---- SharedPoison: read shared memory before writing it (independent) -------------------------

    // Each thread reads its static and dynamic shared slot, then writes a value there; on a fresh block
    // the reads must see the 0xFF poison.
    public static void SharedPoison(ArrayView<uint> seenStatic, ArrayView<uint> seenDynamic, uint stamp)
    {
        var tile = Shared.Allocate<uint>(1024);
        var dynamicTile = Shared.Dynamic<uint>();
        int t = ThreadIdx.X;
        int i = (BlockIdx.X * BlockDim.X) + t;
        seenStatic[i] = tile[t];
        seenDynamic[i] = dynamicTile[t];
        tile[t] = stamp + (uint)i;
        dynamicTile[t] = stamp ^ (uint)i;
    }

    public static KernelDefinition SharedPoisonDefinition { get; } = Define(
        nameof(SharedPoison), KernelFeatures.StaticShared | KernelFeatures.DynamicShared,
        static args =>
        {
            var seenStatic = args[0].GetView<uint>();
            var seenDynamic = args[1].GetView<uint>();
            uint stamp = args[2].GetScalar<uint>();
            return CpuKernelBody.Independent(() => SharedPoison(seenStatic, seenDynamic, stamp));
        },
        View("seenStatic", "uint", 4), View("seenDynamic", "uint", 4), Scalar("stamp", "uint", 4));

    // ---- SharedReadBeforeBarrier: a float read of shared memory nobody wrote (synchronous) ---------

    public static IEnumerable<int> UninitializedShared__CpuSync(ArrayView<float> output)
    {
        var tile = Shared.Allocate<float>(256);
        Arrive(); Group.Barrier(); yield return 0; Group.Barrier();
        output[(BlockIdx.X * BlockDim.X) + ThreadIdx.X] = tile[255 - ThreadIdx.X];
        Arrive(); Group.Barrier(); yield return 0; Group.Barrier();
        tile[ThreadIdx.X] = 1f;
    }

    public static KernelDefinition UninitializedSharedDefinition { get; } = Define(
        "UninitializedShared", KernelFeatures.Barrier | KernelFeatures.StaticShared,
        static args =>
        {
            var output = args[0].GetView<float>();
            return CpuKernelBody.Synchronous(() => UninitializedShared__CpuSync(output));
        },
        View("output", "float", 4));

    // ---- Copy without a bounds check (out-of-range when y is longer than x) -----------------------

    public static void UncheckedCopy(ReadOnlyView<float> x, ArrayView<float> y)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        y[i] = x[i];
    }

    public static KernelDefinition UncheckedCopyDefinition { get; } = Define(
        nameof(UncheckedCopy), KernelFeatures.None,
        static args =>
        {
            var x = args[0].GetReadOnlyView<float>();
            var y = args[1].GetView<float>();
            return CpuKernelBody.Independent(() => UncheckedCopy(x, y));
        },
        ReadOnly("x", "float", 4), View("y", "float", 4));

    // ---- Same, after a barrier (synchronous) -------------------------------------------------------

    public static IEnumerable<int> UncheckedCopyAfterBarrier__CpuSync(ReadOnlyView<float> x, ArrayView<float> y)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        Arrive(); Group.Barrier(); yield return 0; Group.Barrier();
        y[i] = x[i];
    }

    public static KernelDefinition UncheckedCopyAfterBarrierDefinition { get; } = Define(
        "UncheckedCopyAfterBarrier", KernelFeatures.Barrier,
        static args =>
        {
            var x = args[0].GetReadOnlyView<float>();
            var y = args[1].GetView<float>();
            return CpuKernelBody.Synchronous(() => UncheckedCopyAfterBarrier__CpuSync(x, y));
        },
        ReadOnly("x", "float", 4), View("y", "float", 4));

    // ---- AtomicSum: every thread adds its element to sum[0] ---------------------------------------

    public static void AtomicSum(ReadOnlyView<float> x, ArrayView<float> sum)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < x.Length)
        {
            Atomic.Add(ref sum[0], x[i]);
        }
    }

    public static KernelDefinition AtomicSumDefinition { get; } = Define(
        nameof(AtomicSum), KernelFeatures.Atomics,
        static args =>
        {
            var x = args[0].GetReadOnlyView<float>();
            var sum = args[1].GetView<float>();
            return CpuKernelBody.Independent(() => AtomicSum(x, sum));
        },
        ReadOnly("x", "float", 4), View("sum", "float", 4));

    // ---- Index3D: a 3D launch over an nx * ny * nz volume with ragged edges ------------------------

    public struct Extent3
    {
        public int X;
        public int Y;
        public int Z;
    }

    public static void Index3D(ArrayView<int> hits, ArrayView<int> value, Extent3 n, int seed)
    {
        int x = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        int y = (BlockIdx.Y * BlockDim.Y) + ThreadIdx.Y;
        int z = (BlockIdx.Z * BlockDim.Z) + ThreadIdx.Z;
        if (x < n.X && y < n.Y && z < n.Z)
        {
            int index = x + (n.X * (y + (n.Y * z)));
            Atomic.Add(ref hits[index], 1);
            value[index] = (index ^ seed) + (GridDim.X * 7) + (GridDim.Y * 11) + (GridDim.Z * 13);
        }
    }

    public static KernelDefinition Index3DDefinition { get; } = Define(
        nameof(Index3D), KernelFeatures.Atomics,
        static args =>
        {
            var hits = args[0].GetView<int>();
            var value = args[1].GetView<int>();
            var n = args[2].GetScalar<Extent3>();
            int seed = args[3].GetScalar<int>();
            return CpuKernelBody.Independent(() => Index3D(hits, value, n, seed));
        },
        View("hits", "int", 4), View("value", "int", 4), Scalar("n", nameof(Extent3), 12), Scalar("seed", "int", 4));

    // ---- Benchmark kernel: a group-synchronous body with three barriers ---------------------------

    // Reverses each 256-element block through shared memory, twice, then scales.
    public static IEnumerable<int> ReverseTwice__CpuSync(ReadOnlyView<float> x, ArrayView<float> y)
    {
        var tile = Shared.Allocate<float>(256);
        int t = ThreadIdx.X;
        int i = (BlockIdx.X * BlockDim.X) + t;
        tile[t] = x[i];
        Arrive(); Group.Barrier(); yield return 0; Group.Barrier();
        float v = tile[255 - t];
        Arrive(); Group.Barrier(); yield return 0; Group.Barrier();
        tile[t] = v;
        Arrive(); Group.Barrier(); yield return 0; Group.Barrier();
        y[i] = 2f * tile[255 - t];
    }

    public static KernelDefinition ReverseTwiceDefinition { get; } = Define(
        "ReverseTwice", KernelFeatures.Barrier | KernelFeatures.StaticShared,
        static args =>
        {
            var x = args[0].GetReadOnlyView<float>();
            var y = args[1].GetView<float>();
            return CpuKernelBody.Synchronous(() => ReverseTwice__CpuSync(x, y));
        },
        ReadOnly("x", "float", 4), View("y", "float", 4));
}
