namespace GanEngine.Datasets;

/// <summary>
/// Resampling and channel conversion of CHW float images. Resizing is separable: along each axis, growing
/// uses bilinear interpolation with pixel centres aligned (source position (o + 0.5) * in / out - 0.5,
/// clamped at the edges: PyTorch's align_corners=False), shrinking uses area averaging (each output pixel
/// is the mean of the source it covers, partial pixels weighted by their covered fraction), equal sizes copy.
/// Grey to RGB replicates the plane; RGB to grey takes ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B
/// (linear, so it is the same in [-1, 1] as in [0, 1]).
/// </summary>
public static class ImageResize
{
    /// <summary>ITU-R BT.601 luma weights of R, G, B.</summary>
    public const float LumaR = 0.299f, LumaG = 0.587f, LumaB = 0.114f;

    /// <summary>
    /// Resizes a CHW image of <paramref name="channels"/> x <paramref name="height"/> x <paramref name="width"/>
    /// to <paramref name="outHeight"/> x <paramref name="outWidth"/>.
    /// </summary>
    public static void Resize(ReadOnlySpan<float> source, int channels, int height, int width,
        Span<float> destination, int outHeight, int outWidth)
    {
        var resampler = new Resampler(channels, height, width, outHeight, outWidth);
        resampler.Resample(source, destination, new float[resampler.ScratchLength]);
    }

    /// <summary>
    /// Converts a CHW image between 1 and 3 channels (or copies it when the counts agree);
    /// <paramref name="plane"/> is height * width.
    /// </summary>
    public static void ConvertChannels(ReadOnlySpan<float> source, int sourceChannels, Span<float> destination,
        int destinationChannels, int plane)
    {
        if (source.Length != sourceChannels * plane || destination.Length != destinationChannels * plane)
        {
            throw new ArgumentException("source or destination does not hold channels x plane floats");
        }
        if (sourceChannels == destinationChannels)
        {
            source.CopyTo(destination);
        }
        else if (sourceChannels == 1 && destinationChannels == 3)
        {
            source.CopyTo(destination[..plane]);
            source.CopyTo(destination.Slice(plane, plane));
            source.CopyTo(destination.Slice(2 * plane, plane));
        }
        else if (sourceChannels == 3 && destinationChannels == 1)
        {
            var r = source[..plane];
            var g = source.Slice(plane, plane);
            var b = source.Slice(2 * plane, plane);
            for (var i = 0; i < plane; i++)
            {
                destination[i] = (LumaR * r[i]) + (LumaG * g[i]) + (LumaB * b[i]);
            }
        }
        else
        {
            throw new ArgumentException($"cannot convert {sourceChannels} channels to {destinationChannels} (1 and 3 are supported)");
        }
    }

    /// <summary>The taps of one axis: for each output index, a run of source indices and their weights.</summary>
    internal sealed class AxisTaps
    {
        public AxisTaps(int input, int output)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(input, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(output, 1);
            Start = new int[output];
            Count = new int[output];
            var weights = new List<float>[output];
            double scale = (double)input / output;
            for (var o = 0; o < output; o++)
            {
                var w = new List<float>(4);
                if (output == input)
                {
                    Start[o] = o;
                    w.Add(1f);
                }
                else if (output > input)
                {
                    // Bilinear, pixel centres aligned, clamped at both edges.
                    var position = Math.Max(0.0, ((o + 0.5) * scale) - 0.5);
                    var i0 = Math.Min((int)Math.Floor(position), input - 1);
                    var fraction = i0 == input - 1 ? 0.0 : position - i0;
                    Start[o] = i0;
                    w.Add((float)(1.0 - fraction));
                    if (fraction > 0)
                    {
                        w.Add((float)fraction);
                    }
                }
                else
                {
                    // Area averaging: output o covers [o * scale, (o + 1) * scale) of the source.
                    var lo = o * scale;
                    var hi = (o + 1) * scale;
                    var first = (int)Math.Floor(lo);
                    var last = Math.Min(input - 1, (int)Math.Ceiling(hi) - 1);
                    Start[o] = first;
                    for (var i = first; i <= last; i++)
                    {
                        var covered = Math.Min(hi, i + 1) - Math.Max(lo, i);
                        w.Add((float)(covered / scale));
                    }
                }
                Count[o] = w.Count;
                weights[o] = w;
            }
            Stride = weights.Max(w => w.Count);
            Weights = new float[output * Stride];
            for (var o = 0; o < output; o++)
            {
                weights[o].CopyTo(Weights, o * Stride);
            }
        }

        public int[] Start { get; }

        public int[] Count { get; }

        public int Stride { get; }

        /// <summary>Weights, <see cref="Stride"/> per output index.</summary>
        public float[] Weights { get; }
    }

    /// <summary>A resize of fixed shapes with its taps computed once.</summary>
    internal sealed class Resampler
    {
        private readonly int _channels, _height, _width, _outHeight, _outWidth;
        private readonly AxisTaps _rows, _columns;

        public Resampler(int channels, int height, int width, int outHeight, int outWidth)
        {
            (_channels, _height, _width, _outHeight, _outWidth) = (channels, height, width, outHeight, outWidth);
            _rows = new AxisTaps(height, outHeight);
            _columns = new AxisTaps(width, outWidth);
        }

        /// <summary>Floats of scratch <see cref="Resample"/> needs (the horizontally resized image).</summary>
        public int ScratchLength => _channels * _height * _outWidth;

        public void Resample(ReadOnlySpan<float> source, Span<float> destination, Span<float> scratch)
        {
            if (source.Length != _channels * _height * _width || destination.Length != _channels * _outHeight * _outWidth)
            {
                throw new ArgumentException(
                    $"resize of {_channels}x{_height}x{_width} to {_channels}x{_outHeight}x{_outWidth}: " +
                    $"source holds {source.Length} floats, destination {destination.Length}");
            }
            // Along rows (width) into scratch: channels x height x outWidth.
            for (var line = 0; line < _channels * _height; line++)
            {
                var input = source.Slice(line * _width, _width);
                var output = scratch.Slice(line * _outWidth, _outWidth);
                for (var o = 0; o < _outWidth; o++)
                {
                    var start = _columns.Start[o];
                    var weights = _columns.Weights.AsSpan(o * _columns.Stride, _columns.Count[o]);
                    var sum = 0f;
                    for (var k = 0; k < weights.Length; k++)
                    {
                        sum += weights[k] * input[start + k];
                    }
                    output[o] = sum;
                }
            }
            // Along columns (height) into the destination.
            for (var c = 0; c < _channels; c++)
            {
                var plane = scratch.Slice(c * _height * _outWidth, _height * _outWidth);
                var target = destination.Slice(c * _outHeight * _outWidth, _outHeight * _outWidth);
                for (var o = 0; o < _outHeight; o++)
                {
                    var row = target.Slice(o * _outWidth, _outWidth);
                    row.Clear();
                    var start = _rows.Start[o];
                    var weights = _rows.Weights.AsSpan(o * _rows.Stride, _rows.Count[o]);
                    for (var k = 0; k < weights.Length; k++)
                    {
                        var w = weights[k];
                        var input = plane.Slice((start + k) * _outWidth, _outWidth);
                        for (var x = 0; x < _outWidth; x++)
                        {
                            row[x] += w * input[x];
                        }
                    }
                }
            }
        }
    }
}
