namespace GanEngine.Datasets;

/// <summary>
/// Delivers another data set's images at a given size and channel count (see <see cref="ImageResize"/> for
/// the resampling and the channel conversion). Safe to read from several threads at once.
/// </summary>
public sealed class ResizedDataset : IImageDataset
{
    private readonly IImageDataset _inner;
    private readonly ImageResize.Resampler? _resampler;

    // Buffers of one read; taken for the read and put back, so that one reader thread allocates nothing in
    // steady state and concurrent readers (which find the slot empty) get their own.
    private Scratch? _spare;

    private sealed class Scratch
    {
        public float[] Source = [], Converted = [], Resized = [], Resampling = [];
    }

    /// <summary>Wraps <paramref name="inner"/> to deliver <paramref name="channels"/> x <paramref name="height"/> x <paramref name="width"/>.</summary>
    public ResizedDataset(IImageDataset inner, int height, int width, int channels)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (channels is not (1 or 3) || inner.Channels is not (1 or 3))
        {
            throw new ArgumentException($"channel conversion supports 1 and 3 channels, not {inner.Channels} -> {channels}");
        }
        _inner = inner;
        Height = height;
        Width = width;
        Channels = channels;
        if (height != inner.Height || width != inner.Width)
        {
            _resampler = new ImageResize.Resampler(Math.Min(channels, inner.Channels), inner.Height, inner.Width, height, width);
        }
    }

    /// <summary>The data set read from.</summary>
    public IImageDataset Inner => _inner;

    /// <inheritdoc/>
    public string Name => _inner.Name;

    /// <inheritdoc/>
    public int Count => _inner.Count;

    /// <inheritdoc/>
    public int Channels { get; }

    /// <inheritdoc/>
    public int Height { get; }

    /// <inheritdoc/>
    public int Width { get; }

    /// <inheritdoc/>
    public int ClassCount => _inner.ClassCount;

    /// <inheritdoc/>
    public int Label(int index) => _inner.Label(index);

    /// <inheritdoc/>
    public void ReadImage(int index, Span<float> destination)
    {
        DataFiles.CheckDestination(this, index, destination);
        int inChannels = _inner.Channels, inPlane = _inner.Height * _inner.Width, outPlane = Height * Width;
        if (_resampler == null && inChannels == Channels)
        {
            _inner.ReadImage(index, destination);
            return;
        }
        var buffers = Interlocked.Exchange(ref _spare, null) ?? new Scratch();
        try
        {
            Span<float> source = Buffer(ref buffers.Source, inChannels * inPlane);
            _inner.ReadImage(index, source);
            var channels = inChannels;
            // Fewer channels: convert before resizing (less to resize); more: after.
            if (Channels < channels)
            {
                var converted = Buffer(ref buffers.Converted, Channels * inPlane);
                ImageResize.ConvertChannels(source, channels, converted, Channels, inPlane);
                source = converted;
                channels = Channels;
            }
            if (_resampler == null)
            {
                ImageResize.ConvertChannels(source, channels, destination, Channels, outPlane);
                return;
            }
            var scratch = Buffer(ref buffers.Resampling, _resampler.ScratchLength);
            if (channels == Channels)
            {
                _resampler.Resample(source, destination, scratch);
                return;
            }
            var resized = Buffer(ref buffers.Resized, channels * outPlane);
            _resampler.Resample(source, resized, scratch);
            ImageResize.ConvertChannels(resized, channels, destination, Channels, outPlane);
        }
        finally
        {
            Volatile.Write(ref _spare, buffers);
        }
    }

    private static Span<float> Buffer(ref float[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new float[length];
        }
        return buffer.AsSpan(0, length);
    }
}
