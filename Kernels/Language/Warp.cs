using System.Runtime.CompilerServices;
using GanEngine.Kernels.Cpu;

namespace GanEngine.Kernels;

/// <summary>
/// Warp-level intrinsics over 32 threads (all lanes participate: CUDA's full mask). A kernel that
/// uses them must be launched with a block size that is a multiple of 32, and must reach each call
/// in block-uniform control flow (on OpenCL they are built on local memory and barriers).
/// Lane and warp numbering follow the linear thread index within the block.
/// </summary>
public static class Warp
{
    /// <summary>Threads per warp.</summary>
    public const int Size = 32;

    /// <summary>This thread's lane (0..31).</summary>
    public static int LaneId => CpuThread.Current.LaneId;

    /// <summary>This thread's warp within the block.</summary>
    public static int WarpId => CpuThread.Current.WarpId;

    /// <summary>The value of <paramref name="value"/> in lane <paramref name="srcLane"/> (mod 32).</summary>
    public static float Shuffle(float value, int srcLane) => Exchange(value, ShuffleKind.Index, srcLane);
    /// <inheritdoc cref="Shuffle(float, int)"/>
    public static int Shuffle(int value, int srcLane) => Exchange(value, ShuffleKind.Index, srcLane);
    /// <inheritdoc cref="Shuffle(float, int)"/>
    public static uint Shuffle(uint value, int srcLane) => Exchange(value, ShuffleKind.Index, srcLane);

    /// <summary>The value in lane <c>lane + delta</c>, or this lane's own value if that is past 31.</summary>
    public static float ShuffleDown(float value, int delta) => Exchange(value, ShuffleKind.Down, delta);
    /// <inheritdoc cref="ShuffleDown(float, int)"/>
    public static int ShuffleDown(int value, int delta) => Exchange(value, ShuffleKind.Down, delta);
    /// <inheritdoc cref="ShuffleDown(float, int)"/>
    public static uint ShuffleDown(uint value, int delta) => Exchange(value, ShuffleKind.Down, delta);

    /// <summary>The value in lane <c>lane - delta</c>, or this lane's own value if that is below 0.</summary>
    public static float ShuffleUp(float value, int delta) => Exchange(value, ShuffleKind.Up, delta);
    /// <inheritdoc cref="ShuffleUp(float, int)"/>
    public static int ShuffleUp(int value, int delta) => Exchange(value, ShuffleKind.Up, delta);
    /// <inheritdoc cref="ShuffleUp(float, int)"/>
    public static uint ShuffleUp(uint value, int delta) => Exchange(value, ShuffleKind.Up, delta);

    /// <summary>The value in lane <c>lane ^ laneMask</c>.</summary>
    public static float ShuffleXor(float value, int laneMask) => Exchange(value, ShuffleKind.Xor, laneMask);
    /// <inheritdoc cref="ShuffleXor(float, int)"/>
    public static int ShuffleXor(int value, int laneMask) => Exchange(value, ShuffleKind.Xor, laneMask);
    /// <inheritdoc cref="ShuffleXor(float, int)"/>
    public static uint ShuffleXor(uint value, int laneMask) => Exchange(value, ShuffleKind.Xor, laneMask);

    /// <summary>True when <paramref name="predicate"/> holds in every lane of the warp.</summary>
    public static bool All(bool predicate) => Ballot(predicate) == uint.MaxValue;

    /// <summary>True when <paramref name="predicate"/> holds in some lane of the warp.</summary>
    public static bool Any(bool predicate) => Ballot(predicate) != 0;

    /// <summary>Bit <c>i</c> set when <paramref name="predicate"/> holds in lane <c>i</c>.</summary>
    public static uint Ballot(bool predicate)
    {
        var thread = CpuThread.Current;
        thread.RequireCollective("Warp vote");
        if (thread.Phase == CollectivePhase.Arrive)
        {
            thread.ExchangeSlot[0] = predicate ? 1u : 0u;
            return 0;
        }
        uint mask = 0;
        int warpStart = thread.WarpId * Size;
        for (int lane = 0; lane < Size; lane++)
        {
            mask |= thread.PeerSlot(warpStart + lane)[0] << lane;
        }
        thread.FinishCollective();
        return mask;
    }

    private enum ShuffleKind { Index, Down, Up, Xor }

    private static T Exchange<T>(T value, ShuffleKind kind, int operand) where T : unmanaged
    {
        var thread = CpuThread.Current;
        thread.RequireCollective("Warp shuffle");
        if (thread.Phase == CollectivePhase.Arrive)
        {
            thread.ExchangeSlot[0] = Unsafe.BitCast<T, uint>(value);
            return default;
        }
        int lane = thread.LaneId;
        int source = kind switch
        {
            ShuffleKind.Index => operand & 31,
            ShuffleKind.Down => lane + operand <= 31 ? lane + operand : lane,
            ShuffleKind.Up => lane - operand >= 0 ? lane - operand : lane,
            _ => (lane ^ operand) & 31,
        };
        uint bits = thread.PeerSlot((thread.WarpId * Size) + source)[0];
        thread.FinishCollective();
        return Unsafe.BitCast<uint, T>(bits);
    }
}
