using GanEngine.Kernels;

namespace GanEngine.Tests.Conformance.Kernels;

/// <summary>Every atomic on global memory, with many threads colliding on few targets.</summary>
public static partial class AtomicKernels
{
    [Kernel]
    public static void AddInt(ReadOnlyView<int> keys, ReadOnlyView<int> values, ArrayView<int> sums, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            Atomic.Add(ref sums[keys[i]], values[i]);
        }
    }

    [Kernel]
    public static void AddUInt(ReadOnlyView<int> keys, ReadOnlyView<uint> values, ArrayView<uint> sums, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            Atomic.Add(ref sums[keys[i]], values[i]);
        }
    }

    [Kernel]
    public static void AddFloat(ReadOnlyView<int> keys, ReadOnlyView<float> values, ArrayView<float> sums, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            Atomic.Add(ref sums[keys[i]], values[i]);
        }
    }

    /// <summary>Each thread takes a ticket: tickets must be a permutation of 0..n-1 (checks the returned old value).</summary>
    [Kernel]
    public static void TakeTicket(ArrayView<int> counter, ArrayView<int> tickets, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            int old = Atomic.Add(ref counter[0], 1);
            tickets[i] = old;
        }
    }

    [Kernel]
    public static void MaxMinInt(ReadOnlyView<int> keys, ReadOnlyView<int> values, ArrayView<int> maxima, ArrayView<int> minima, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            Atomic.Max(ref maxima[keys[i]], values[i]);
            Atomic.Min(ref minima[keys[i]], values[i]);
        }
    }

    [Kernel]
    public static void MaxMinUInt(ReadOnlyView<int> keys, ReadOnlyView<uint> values, ArrayView<uint> maxima, ArrayView<uint> minima, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            Atomic.Max(ref maxima[keys[i]], values[i]);
            Atomic.Min(ref minima[keys[i]], values[i]);
        }
    }

    [Kernel]
    public static void MaxMinFloat(ReadOnlyView<int> keys, ReadOnlyView<float> values, ArrayView<float> maxima, ArrayView<float> minima, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            Atomic.Max(ref maxima[keys[i]], values[i]);
            Atomic.Min(ref minima[keys[i]], values[i]);
        }
    }

    /// <summary>Every thread swaps its own tag into one cell per key; the old values it gets back and
    /// the cells' final values together are each initial value and each tag exactly once.</summary>
    [Kernel]
    public static void ExchangeInt(ReadOnlyView<int> keys, ArrayView<int> cells, ArrayView<int> previous, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            previous[i] = Atomic.Exchange(ref cells[keys[i]], i + 1000);
        }
    }

    [Kernel]
    public static void ExchangeUInt(ReadOnlyView<int> keys, ArrayView<uint> cells, ArrayView<uint> previous, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            previous[i] = Atomic.Exchange(ref cells[keys[i]], (uint)i + 3000000000u);
        }
    }

    [Kernel]
    public static void ExchangeFloat(ReadOnlyView<int> keys, ArrayView<float> cells, ArrayView<float> previous, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            previous[i] = Atomic.Exchange(ref cells[keys[i]], (float)i + 0.5f);
        }
    }

    /// <summary>"First writer wins": owners start at -1; each thread tries to claim its key's owner cell;
    /// won[i] = 1 for the one thread per key whose CompareExchange saw -1.</summary>
    [Kernel]
    public static void ClaimInt(ReadOnlyView<int> keys, ArrayView<int> owners, ArrayView<int> won, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            int old = Atomic.CompareExchange(ref owners[keys[i]], -1, i);
            won[i] = old == -1 ? 1 : 0;
        }
    }

    /// <summary>A CompareExchange loop that adds values[i] to counters[keys[i]] (uint: exact).</summary>
    [Kernel]
    public static void CasAddUInt(ReadOnlyView<int> keys, ReadOnlyView<uint> values, ArrayView<uint> counters, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            int k = keys[i];
            uint seen = counters[k];
            while (true)
            {
                uint actual = Atomic.CompareExchange(ref counters[k], seen, seen + values[i]);
                if (actual == seen)
                {
                    break;
                }
                seen = actual;
            }
        }
    }

    /// <summary>A float CompareExchange loop (compares bits) adding small integers: exact.</summary>
    [Kernel]
    public static void CasAddFloat(ReadOnlyView<int> keys, ReadOnlyView<float> values, ArrayView<float> sums, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            int k = keys[i];
            float seen = sums[k];
            while (true)
            {
                float actual = Atomic.CompareExchange(ref sums[k], seen, seen + values[i]);
                if (KMath.FloatAsInt(actual) == KMath.FloatAsInt(seen))
                {
                    break;
                }
                seen = actual;
            }
        }
    }
}
