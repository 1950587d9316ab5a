using System.Runtime.CompilerServices;
using GanEngine.Accelerators;

namespace GanEngine.Memory;

/// <summary>A block of device memory from a <see cref="CachingAllocator"/>: one driver allocation of
/// <see cref="Bytes"/> (the request rounded up to its size class).</summary>
public sealed class MemoryBlock
{
    private List<AcceleratorStream>? _otherStreams;

    internal MemoryBlock(nint handle, long bytes, AcceleratorStream stream)
    {
        Handle = handle;
        Bytes = bytes;
        Stream = stream;
    }

    /// <summary>Device pointer, host pointer or <c>cl_mem</c>.</summary>
    public nint Handle { get; }

    /// <summary>Size in bytes (a size class).</summary>
    public long Bytes { get; }

    /// <summary>The stream that owns the block: its pool takes the block back on free.</summary>
    public AcceleratorStream Stream { get; }

    internal bool InUse { get; set; }

    internal AcceleratorEvent[]? PendingEvents { get; set; }

    /// <summary>Tells the allocator that <paramref name="stream"/> (not the owner) uses the block: on
    /// free, the block is reused only after that stream has passed the work enqueued so far (PyTorch's
    /// <c>record_stream</c>).</summary>
    public void RecordStream(AcceleratorStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (ReferenceEquals(stream, Stream))
        {
            return;
        }
        _otherStreams ??= [];
        if (!_otherStreams.Contains(stream))
        {
            _otherStreams.Add(stream);
        }
    }

    internal List<AcceleratorStream>? TakeOtherStreams()
    {
        var streams = _otherStreams;
        _otherStreams = null;
        return streams;
    }
}

/// <summary>What a <see cref="CachingAllocator"/> has done so far.</summary>
public readonly record struct AllocatorStatistics(
    long AllocationsRequested,
    long CacheHits,
    long DriverAllocations,
    long DriverFrees,
    long BytesInUse,
    long BytesCached,
    long PeakBytesInUse)
{
    public override string ToString() =>
        $"requests {AllocationsRequested}, cache hits {CacheHits}, driver allocations {DriverAllocations}, driver frees {DriverFrees}, " +
        $"in use {BytesInUse} B, cached {BytesCached} B, peak {PeakBytesInUse} B";
}

/// <summary>
/// A stream-ordered caching allocator of device memory (the idea of PyTorch's CUDA caching
/// allocator, without block splitting): requests are rounded up to a size class (512 bytes below
/// 1 MiB, 2 MiB above); freed blocks go back to a pool per (stream, size class) and are handed out
/// again without calling the driver.
/// </summary>
/// <remarks>
/// <para>Stream order makes reuse safe without any host wait: a block freed on stream S (the stream
/// that allocated it) is reused only by later allocations on S, whose work S runs after the work
/// that used the block. A block also used on other streams (<see cref="MemoryBlock.RecordStream"/>)
/// records an event on each of them at free time and goes back to its pool only once those events
/// have completed (queried, never waited for).</para>
/// <para>In a steady-state loop that allocates and frees the same sizes, there is no driver
/// allocation after the first iteration. <see cref="EmptyCache"/> returns cached blocks to the
/// driver (it synchronises when blocks are pending on other streams). When the driver is out of
/// memory, the allocator empties its cache and retries once. Thread-safe.</para>
/// </remarks>
public sealed class CachingAllocator : IDisposable
{
    /// <summary>Granularity of small blocks.</summary>
    public const long SmallGranularity = 512;

    /// <summary>Requests up to this size are small.</summary>
    public const long SmallLimit = 1 << 20;

    /// <summary>Granularity of large blocks.</summary>
    public const long LargeGranularity = 2 << 20;

    private static readonly ConditionalWeakTable<Accelerator, CachingAllocator> Shared = new();

    private readonly object _lock = new();
    private readonly Dictionary<AcceleratorStream, Dictionary<long, Stack<MemoryBlock>>> _pools = new(ReferenceEqualityComparer.Instance);
    private readonly List<MemoryBlock> _pending = [];
    private long _requests;
    private long _hits;
    private long _driverAllocations;
    private long _driverFrees;
    private long _inUse;
    private long _cached;
    private long _peak;
    private bool _disposed;

    /// <summary>An allocator for <paramref name="accelerator"/>; most code uses <see cref="For"/>.</summary>
    public CachingAllocator(Accelerator accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        Accelerator = accelerator;
    }

    /// <summary>The accelerator whose memory this allocator caches.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>The allocator that tensors on <paramref name="accelerator"/> use (one per accelerator).</summary>
    public static CachingAllocator For(Accelerator accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        return Shared.GetValue(accelerator, static a => new CachingAllocator(a));
    }

    /// <summary>The size class of a request of <paramref name="bytes"/>.</summary>
    public static long RoundUp(long bytes)
    {
        long b = Math.Max(bytes, 1);
        long granularity = b <= SmallLimit ? SmallGranularity : LargeGranularity;
        return (b + granularity - 1) / granularity * granularity;
    }

    /// <summary>Current counters.</summary>
    public AllocatorStatistics Statistics
    {
        get
        {
            lock (_lock)
            {
                return new AllocatorStatistics(_requests, _hits, _driverAllocations, _driverFrees, _inUse, _cached, _peak);
            }
        }
    }

    /// <summary>A block of at least <paramref name="bytes"/> for work on <paramref name="stream"/>.
    /// Contents undefined.</summary>
    public MemoryBlock Allocate(long bytes, AcceleratorStream stream)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentNullException.ThrowIfNull(stream);
        long size = RoundUp(bytes);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _requests++;
            CollectPending();
            if (_pools.TryGetValue(stream, out var bins) && bins.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                var block = stack.Pop();
                _hits++;
                _cached -= size;
                return MarkInUse(block);
            }
        }
        nint handle;
        try
        {
            handle = Accelerator.AllocateMemory(size);
        }
        catch (Exception) when (BytesCachedNow() > 0)
        {
            EmptyCache();
            handle = Accelerator.AllocateMemory(size);
        }
        lock (_lock)
        {
            _driverAllocations++;
            return MarkInUse(new MemoryBlock(handle, size, stream));
        }
    }

    /// <summary>Returns <paramref name="block"/> to its stream's pool (no host wait).</summary>
    public void Free(MemoryBlock block)
    {
        ArgumentNullException.ThrowIfNull(block);
        var others = block.TakeOtherStreams();
        AcceleratorEvent[]? events = null;
        if (others is { Count: > 0 })
        {
            events = new AcceleratorEvent[others.Count];
            for (int i = 0; i < others.Count; i++)
            {
                events[i] = others[i].RecordEvent();
            }
        }
        lock (_lock)
        {
            if (!block.InUse)
            {
                throw new InvalidOperationException("The block was freed twice.");
            }
            block.InUse = false;
            _inUse -= block.Bytes;
            if (_disposed)
            {
                Accelerator.FreeMemory(block.Handle);
                _driverFrees++;
                DisposeEvents(events);
                return;
            }
            _cached += block.Bytes;
            if (events != null)
            {
                block.PendingEvents = events;
                _pending.Add(block);
            }
            else
            {
                Pool(block).Push(block);
            }
        }
    }

    /// <summary>Frees every cached block to the driver (waits for blocks pending on other streams).
    /// Blocks in use are not affected.</summary>
    public void EmptyCache()
    {
        lock (_lock)
        {
            foreach (var block in _pending)
            {
                foreach (var evt in block.PendingEvents!)
                {
                    evt.Synchronize();
                }
                DisposeEvents(block.PendingEvents);
                block.PendingEvents = null;
                Pool(block).Push(block);
            }
            _pending.Clear();
            foreach (var bins in _pools.Values)
            {
                foreach (var stack in bins.Values)
                {
                    while (stack.Count > 0)
                    {
                        var block = stack.Pop();
                        Accelerator.FreeMemory(block.Handle);
                        _driverFrees++;
                        _cached -= block.Bytes;
                    }
                }
            }
            _pools.Clear();
        }
    }

    /// <summary>Frees the cache; blocks still in use are freed to the driver when they are returned.</summary>
    public void Dispose()
    {
        EmptyCache();
        lock (_lock)
        {
            _disposed = true;
        }
    }

    private long BytesCachedNow()
    {
        lock (_lock)
        {
            return _cached;
        }
    }

    private MemoryBlock MarkInUse(MemoryBlock block)
    {
        block.InUse = true;
        _inUse += block.Bytes;
        _peak = Math.Max(_peak, _inUse);
        return block;
    }

    private Stack<MemoryBlock> Pool(MemoryBlock block)
    {
        if (!_pools.TryGetValue(block.Stream, out var bins))
        {
            bins = [];
            _pools.Add(block.Stream, bins);
        }
        if (!bins.TryGetValue(block.Bytes, out var stack))
        {
            stack = new Stack<MemoryBlock>();
            bins.Add(block.Bytes, stack);
        }
        return stack;
    }

    /// <summary>Moves pending blocks whose events have all completed back to their pools (no wait).</summary>
    private void CollectPending()
    {
        for (int i = _pending.Count - 1; i >= 0; i--)
        {
            var block = _pending[i];
            bool done = true;
            foreach (var evt in block.PendingEvents!)
            {
                done &= evt.IsComplete;
            }
            if (done)
            {
                DisposeEvents(block.PendingEvents);
                block.PendingEvents = null;
                _pending.RemoveAt(i);
                Pool(block).Push(block);
            }
        }
    }

    private static void DisposeEvents(AcceleratorEvent[]? events)
    {
        if (events != null)
        {
            foreach (var evt in events)
            {
                evt.Dispose();
            }
        }
    }
}
