using System.Runtime.ExceptionServices;

namespace GanEngine.Datasets;

/// <summary>One batch of images on the host, NCHW floats in [-1, 1], recycled through <see cref="BatchLoader.Return"/>.</summary>
public sealed class HostBatch
{
    /// <summary>Creates a batch with room for <paramref name="capacity"/> images of <paramref name="imageSize"/> floats.</summary>
    public HostBatch(int capacity, int imageSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageSize, 1);
        Images = new float[(long)capacity * imageSize];
        Labels = new int[capacity];
    }

    /// <summary>The images, NCHW: image i starts at i * C * H * W.</summary>
    public float[] Images;

    /// <summary>The labels (-1 for unlabeled data sets).</summary>
    public int[] Labels;

    /// <summary>Images in the batch (the loader always fills the whole batch).</summary>
    public int Count;

    /// <summary>The epoch the batch belongs to (0-based).</summary>
    public long Epoch;

    /// <summary>The loader that made the batch, and whether it sits in that loader's free pool.</summary>
    internal BatchLoader? Owner;

    internal bool Pooled;
}

/// <summary>
/// Background loader: a worker thread fills batches ahead of the consumer (at most <c>prefetch</c> ready
/// batches waiting), in an order that depends only on the seed. Epoch e visits the data set in the
/// permutation <see cref="Permutation"/>(seed, e) and cuts it into Count / batchSize batches of exactly
/// batchSize images (the last partial batch is dropped; its images come in other epochs' batches), so
/// global batch b is batch b mod batchesPerEpoch of epoch b / batchesPerEpoch, the same on every machine,
/// and starting at <c>startBatch</c> resumes a run exactly. <see cref="Next"/> blocks until a batch is
/// ready; <see cref="Return"/> hands its buffers back for reuse, so a consumer that returns every batch
/// causes no allocation in steady state. An exception in the worker (e.g. a corrupt file) is thrown from
/// <see cref="Next"/> once the batches made before it are consumed. <see cref="Dispose"/> stops the worker.
/// </summary>
public sealed class BatchLoader : IDisposable
{
    private readonly IImageDataset _dataset;
    private readonly int _batchSize;
    private readonly ulong _seed;
    private readonly int _prefetch;
    private readonly int _imageSize;
    private readonly object _gate = new();
    private readonly Queue<HostBatch> _ready;
    private readonly Stack<HostBatch> _free;
    private readonly Thread _worker;
    private ExceptionDispatchInfo? _error;
    private volatile bool _stopping;
    private long _served;

    /// <summary>Starts the worker.</summary>
    /// <param name="dataset">The images; at least <paramref name="batchSize"/> of them.</param>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="seed">Seed of the per-epoch permutations.</param>
    /// <param name="prefetch">Ready batches the worker may keep waiting (at least 1).</param>
    /// <param name="startBatch">Batches already consumed by an earlier run (resume position); the first batch served is global batch <paramref name="startBatch"/>.</param>
    public BatchLoader(IImageDataset dataset, int batchSize, ulong seed, int prefetch = 3, long startBatch = 0)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        if (dataset.Count < batchSize)
        {
            throw new ArgumentException($"{dataset.Name} has {dataset.Count} images, fewer than one batch of {batchSize}", nameof(batchSize));
        }
        _dataset = dataset;
        _batchSize = batchSize;
        _seed = seed;
        _prefetch = prefetch;
        _imageSize = dataset.Channels * dataset.Height * dataset.Width;
        BatchesPerEpoch = dataset.Count / batchSize;
        _served = startBatch;
        _ready = new Queue<HostBatch>(prefetch + 1);
        _free = new Stack<HostBatch>(prefetch + 2);
        _worker = new Thread(() => Produce(startBatch))
        {
            IsBackground = true,
            Name = "GanEngine batch loader",
        };
        _worker.Start();
    }

    /// <summary>Batches per epoch: Count / batchSize (drop-last).</summary>
    public long BatchesPerEpoch { get; }

    /// <summary>Position in the batch sequence: startBatch plus the batches <see cref="Next"/> has returned (what a checkpoint stores as the next run's startBatch).</summary>
    public long BatchesServed => Interlocked.Read(ref _served);

    /// <summary>The next batch, waiting for the worker if none is ready.</summary>
    /// <exception cref="ObjectDisposedException">The loader is disposed.</exception>
    public HostBatch Next()
    {
        lock (_gate)
        {
            while (true)
            {
                ObjectDisposedException.ThrowIf(_stopping, this);
                if (_ready.Count > 0)
                {
                    var batch = _ready.Dequeue();
                    Interlocked.Increment(ref _served);
                    Monitor.PulseAll(_gate);
                    return batch;
                }
                _error?.Throw();
                Monitor.Wait(_gate);
            }
        }
    }

    /// <summary>Hands a batch back so its buffers fill a later batch; do not use it afterwards.</summary>
    public void Return(HostBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Owner != this)
        {
            throw new ArgumentException("the batch does not come from this loader", nameof(batch));
        }
        lock (_gate)
        {
            if (batch.Pooled)
            {
                throw new InvalidOperationException("the batch was already returned");
            }
            batch.Pooled = true;
            _free.Push(batch);
        }
    }

    /// <summary>Stops the worker and waits for it.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        if (Thread.CurrentThread != _worker)
        {
            _worker.Join();
        }
    }

    private void Produce(long next)
    {
        var permutation = new int[_dataset.Count];
        var permutationEpoch = -1L;
        try
        {
            while (true)
            {
                HostBatch? batch;
                lock (_gate)
                {
                    while (_ready.Count >= _prefetch && !_stopping)
                    {
                        Monitor.Wait(_gate);
                    }
                    if (_stopping)
                    {
                        return;
                    }
                    _free.TryPop(out batch);
                }
                batch ??= new HostBatch(_batchSize, _imageSize) { Owner = this };
                batch.Pooled = false;

                var epoch = next / BatchesPerEpoch;
                var within = (int)(next % BatchesPerEpoch);
                if (epoch != permutationEpoch)
                {
                    Permutation(_seed, epoch, permutation);
                    permutationEpoch = epoch;
                }
                for (var i = 0; i < _batchSize; i++)
                {
                    if (_stopping)
                    {
                        return;
                    }
                    var index = permutation[(within * _batchSize) + i];
                    _dataset.ReadImage(index, batch.Images.AsSpan(i * _imageSize, _imageSize));
                    batch.Labels[i] = _dataset.Label(index);
                }
                batch.Count = _batchSize;
                batch.Epoch = epoch;

                lock (_gate)
                {
                    _ready.Enqueue(batch);
                    Monitor.PulseAll(_gate);
                }
                next++;
            }
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                _error = ExceptionDispatchInfo.Capture(e);
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>
    /// The visiting order of epoch <paramref name="epoch"/>: a Fisher-Yates shuffle of 0..n-1 (i from n-1 down to 1
    /// swaps i with a uniform j in 0..i, drawn by Lemire's multiply-and-reject from 64-bit SplitMix64 outputs), the
    /// generator started at SplitMix64's mix of the seed XOR the mix of the epoch. Integer arithmetic only, so the
    /// order is the same on every machine.
    /// </summary>
    public static void Permutation(ulong seed, long epoch, Span<int> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = i;
        }
        var state = Mix(seed) ^ Mix(0xD1B54A32D192ED03UL + (ulong)epoch);
        for (var i = destination.Length - 1; i > 0; i--)
        {
            var j = (int)Below(ref state, (ulong)i + 1);
            (destination[i], destination[j]) = (destination[j], destination[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong NextRandom(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    /// <summary>A uniform integer in 0 .. bound-1 (Lemire's nearly divisionless method).</summary>
    private static ulong Below(ref ulong state, ulong bound)
    {
        var high = Math.BigMul(NextRandom(ref state), bound, out var low);
        if (low < bound)
        {
            var threshold = (0 - bound) % bound;
            while (low < threshold)
            {
                high = Math.BigMul(NextRandom(ref state), bound, out low);
            }
        }
        return high;
    }
}
