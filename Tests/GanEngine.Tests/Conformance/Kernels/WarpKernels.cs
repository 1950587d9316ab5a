using GanEngine.Kernels;

namespace GanEngine.Tests.Conformance.Kernels;

/// <summary>
/// Warp shuffles and votes. Threads are numbered linearly within the block (x + y * blockDim.x), so
/// the tests can use 2D blocks; lanes past n hold a sentinel and still take part (collectives are
/// reached by every thread; only loads and stores are guarded).
/// </summary>
public static partial class WarpKernels
{
    /// <summary>Columns of the shuffle kernels' output, per thread.</summary>
    public const int ShuffleColumns = 20;

    public const float FloatSentinel = -7.25f;
    public const int IntSentinel = -7;
    public const uint UIntSentinel = 0xDEADBEEFu;

    // Column layout (all three types):
    // 0: Shuffle(v, lane * 7 + srcOffset) (source lane taken mod 32)   1: Shuffle(v, 0) (broadcast)
    // 2..6: ShuffleDown by 1, 2, 4, 8, 16                               7: ShuffleDown by delta
    // 8..12: ShuffleUp by 1, 2, 4, 8, 16                                13: ShuffleUp by delta
    // 14..18: ShuffleXor with 1, 2, 4, 8, 16                            19: ShuffleXor with 31

    [Kernel]
    public static void ShuffleFloat(ReadOnlyView<float> input, ArrayView<float> output, int n, int srcOffset, int delta)
    {
        int linear = ThreadIdx.X + (ThreadIdx.Y * BlockDim.X);
        int i = (BlockIdx.X * BlockDim.X * BlockDim.Y) + linear;
        int lane = linear & 31;
        float v = FloatSentinel;
        if (i < n)
        {
            v = input[i];
        }
        int column = 0;
        float r = Warp.Shuffle(v, (lane * 7) + srcOffset);
        Store(output, i, n, column, r);
        column++;
        r = Warp.Shuffle(v, 0);
        Store(output, i, n, column, r);
        column++;
        for (int d = 1; d < 32; d <<= 1)
        {
            r = Warp.ShuffleDown(v, d);
            Store(output, i, n, column, r);
            column++;
        }
        r = Warp.ShuffleDown(v, delta);
        Store(output, i, n, column, r);
        column++;
        for (int d = 1; d < 32; d <<= 1)
        {
            r = Warp.ShuffleUp(v, d);
            Store(output, i, n, column, r);
            column++;
        }
        r = Warp.ShuffleUp(v, delta);
        Store(output, i, n, column, r);
        column++;
        for (int m = 1; m < 32; m <<= 1)
        {
            r = Warp.ShuffleXor(v, m);
            Store(output, i, n, column, r);
            column++;
        }
        r = Warp.ShuffleXor(v, 31);
        Store(output, i, n, column, r);
    }

    [Kernel]
    public static void ShuffleInt(ReadOnlyView<int> input, ArrayView<int> output, int n, int srcOffset, int delta)
    {
        int linear = ThreadIdx.X + (ThreadIdx.Y * BlockDim.X);
        int i = (BlockIdx.X * BlockDim.X * BlockDim.Y) + linear;
        int lane = linear & 31;
        int v = IntSentinel;
        if (i < n)
        {
            v = input[i];
        }
        int column = 0;
        int r = Warp.Shuffle(v, (lane * 7) + srcOffset);
        StoreInt(output, i, n, column, r);
        column++;
        r = Warp.Shuffle(v, 0);
        StoreInt(output, i, n, column, r);
        column++;
        for (int d = 1; d < 32; d <<= 1)
        {
            r = Warp.ShuffleDown(v, d);
            StoreInt(output, i, n, column, r);
            column++;
        }
        r = Warp.ShuffleDown(v, delta);
        StoreInt(output, i, n, column, r);
        column++;
        for (int d = 1; d < 32; d <<= 1)
        {
            r = Warp.ShuffleUp(v, d);
            StoreInt(output, i, n, column, r);
            column++;
        }
        r = Warp.ShuffleUp(v, delta);
        StoreInt(output, i, n, column, r);
        column++;
        for (int m = 1; m < 32; m <<= 1)
        {
            r = Warp.ShuffleXor(v, m);
            StoreInt(output, i, n, column, r);
            column++;
        }
        r = Warp.ShuffleXor(v, 31);
        StoreInt(output, i, n, column, r);
    }

    [Kernel]
    public static void ShuffleUInt(ReadOnlyView<uint> input, ArrayView<uint> output, int n, int srcOffset, int delta)
    {
        int linear = ThreadIdx.X + (ThreadIdx.Y * BlockDim.X);
        int i = (BlockIdx.X * BlockDim.X * BlockDim.Y) + linear;
        int lane = linear & 31;
        uint v = UIntSentinel;
        if (i < n)
        {
            v = input[i];
        }
        int column = 0;
        uint r = Warp.Shuffle(v, (lane * 7) + srcOffset);
        StoreUInt(output, i, n, column, r);
        column++;
        r = Warp.Shuffle(v, 0);
        StoreUInt(output, i, n, column, r);
        column++;
        for (int d = 1; d < 32; d <<= 1)
        {
            r = Warp.ShuffleDown(v, d);
            StoreUInt(output, i, n, column, r);
            column++;
        }
        r = Warp.ShuffleDown(v, delta);
        StoreUInt(output, i, n, column, r);
        column++;
        for (int d = 1; d < 32; d <<= 1)
        {
            r = Warp.ShuffleUp(v, d);
            StoreUInt(output, i, n, column, r);
            column++;
        }
        r = Warp.ShuffleUp(v, delta);
        StoreUInt(output, i, n, column, r);
        column++;
        for (int m = 1; m < 32; m <<= 1)
        {
            r = Warp.ShuffleXor(v, m);
            StoreUInt(output, i, n, column, r);
            column++;
        }
        r = Warp.ShuffleXor(v, 31);
        StoreUInt(output, i, n, column, r);
    }

    /// <summary>Per thread: [0] ballot, [1] all, [2] any, [3] lane id, [4] warp id. Lanes past n vote false.</summary>
    [Kernel]
    public static void Vote(ReadOnlyView<int> predicates, ArrayView<uint> output, int n)
    {
        int linear = ThreadIdx.X + (ThreadIdx.Y * BlockDim.X);
        int i = (BlockIdx.X * BlockDim.X * BlockDim.Y) + linear;
        int p = 0;
        if (i < n)
        {
            p = predicates[i];
        }
        uint ballot = Warp.Ballot(p != 0);
        bool all = Warp.All(p != 0);
        bool any = Warp.Any(p != 0);
        if (i < n)
        {
            output[(i * 5) + 0] = ballot;
            output[(i * 5) + 1] = all ? 1u : 0u;
            output[(i * 5) + 2] = any ? 1u : 0u;
            output[(i * 5) + 3] = (uint)Warp.LaneId;
            output[(i * 5) + 4] = (uint)Warp.WarpId;
        }
    }

    /// <summary>
    /// Warp reductions: a float butterfly (ShuffleXor; every lane ends with the total, written to
    /// laneTotals[i]) and an int tree (ShuffleDown; lane 0's total written to intSums[warp]).
    /// Lanes past n contribute 0.
    /// </summary>
    [Kernel]
    public static void WarpReduce(ReadOnlyView<float> input, ReadOnlyView<int> intInput, ArrayView<float> laneTotals, ArrayView<int> intSums, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        float s = 0f;
        int t = 0;
        if (i < n)
        {
            s = input[i];
            t = intInput[i];
        }
        for (int mask = 16; mask > 0; mask >>= 1)
        {
            s += Warp.ShuffleXor(s, mask);
        }
        for (int offset = 16; offset > 0; offset >>= 1)
        {
            int other = Warp.ShuffleDown(t, offset);
            t += other;
        }
        if (i < n)
        {
            laneTotals[i] = s;
        }
        if (Warp.LaneId == 0)
        {
            intSums[(BlockIdx.X * (BlockDim.X / 32)) + Warp.WarpId] = t;
        }
    }

    private static void Store(ArrayView<float> output, int i, int n, int column, float value)
    {
        if (i < n)
        {
            output[(i * ShuffleColumns) + column] = value;
        }
    }

    private static void StoreInt(ArrayView<int> output, int i, int n, int column, int value)
    {
        if (i < n)
        {
            output[(i * ShuffleColumns) + column] = value;
        }
    }

    private static void StoreUInt(ArrayView<uint> output, int i, int n, int column, uint value)
    {
        if (i < n)
        {
            output[(i * ShuffleColumns) + column] = value;
        }
    }
}
