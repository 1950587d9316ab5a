using GanEngine.Accelerators;
using GanEngine.Datasets;
using GanEngine.Tensors;

namespace GanEngine.Training.Loop;

/// <summary>
/// Moves the background loader's host batches to the device without stalling the stream: each batch is
/// copied into one of a ring of pinned buffers and uploaded asynchronously, stream ordered before the
/// step that reads it. The host waits only when it has run a whole ring ahead of the device (a pinned
/// buffer is still being read): that wait is flow control, counted in <see cref="ThrottleWaits"/>.
/// </summary>
public sealed class DeviceBatchFeeder : IDisposable
{
    private readonly BatchLoader _loader;
    private readonly AcceleratorStream _stream;
    private readonly PinnedHostBuffer<float>[] _pinned;
    private readonly Tensor[] _device;
    private readonly AcceleratorEvent?[] _uploaded;
    private long _next;

    public DeviceBatchFeeder(Accelerator accelerator, AcceleratorStream stream, BatchLoader loader, int batch, int channels, int height, int width,
        int ring = 4)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        _loader = loader ?? throw new ArgumentNullException(nameof(loader));
        _stream = stream ?? throw new ArgumentNullException(nameof(stream));
        int n = batch * channels * height * width;
        _pinned = [.. Enumerable.Range(0, ring).Select(_ => accelerator.AllocatePinned<float>(n))];
        _device = [.. Enumerable.Range(0, ring).Select(_ => TensorScope.Own(Tensor.Empty(accelerator, [batch, channels, height, width], stream)))];
        _uploaded = new AcceleratorEvent?[ring];
    }

    /// <summary>Times the host had to wait for the device to release a pinned buffer.</summary>
    public long ThrottleWaits { get; private set; }

    /// <summary>Batches handed out by this feeder (the loader's <see cref="BatchLoader.BatchesServed"/> also counts the resumed start).</summary>
    public long BatchesServed => _next;

    /// <summary>The next batch, on the device (valid until a ring's worth of later calls; do not dispose).</summary>
    public Tensor Next()
    {
        int slot = (int)(_next++ % _pinned.Length);
        if (_uploaded[slot] is { } previous)
        {
            if (!previous.IsComplete)
            {
                ThrottleWaits++;
                previous.Synchronize();
            }
            previous.Dispose();
            _uploaded[slot] = null;
        }
        var host = _loader.Next();
        try
        {
            host.Images.AsSpan(0, _pinned[slot].Length).CopyTo(_pinned[slot].Span);
        }
        finally
        {
            _loader.Return(host);
        }
        _stream.CopyToDeviceAsync(_pinned[slot], _device[slot].DenseView);
        _uploaded[slot] = _stream.RecordEvent();
        return _device[slot];
    }

    public void Dispose()
    {
        foreach (var e in _uploaded)
        {
            e?.Synchronize();
            e?.Dispose();
        }
        foreach (var p in _pinned)
        {
            p.Dispose();
        }
        foreach (var d in _device)
        {
            d.Dispose();
        }
    }
}
