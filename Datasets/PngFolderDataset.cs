using GanEngine.Datasets.Png;

namespace GanEngine.Datasets;

/// <summary>
/// Every <c>.png</c> file under a folder (recursively, hidden files and folders skipped, in ordinal order of
/// the path relative to the folder, so the order is the same on every machine). Unlabeled, unless every
/// image lies in a subfolder: then the label is the index of the image's top-level subfolder among the
/// subfolders holding images, sorted ordinally (the ImageFolder convention). Images are delivered at one
/// size and channel count, by default those of the first image (grey or grey + alpha: 1 channel, others 3);
/// any image of another size is resized (<see cref="ImageResize"/>), alpha is dropped (not composited).
/// Decoded images are kept in memory when they fit in the cache budget, so later epochs skip decoding.
/// </summary>
public sealed class PngFolderDataset : IImageDataset
{
    /// <summary>Default cache budget: decoded images are kept if all of them fit in this many bytes.</summary>
    public const long DefaultCacheBytes = 512L << 20;

    private readonly string[] _files;
    private readonly int[] _labels;
    private readonly float[]? _cache;
    private readonly int[]? _cached;

    /// <summary>
    /// Lists the folder; <paramref name="height"/>, <paramref name="width"/> and <paramref name="channels"/>
    /// (1 or 3) fix the delivered shape, each defaulting to the first image's.
    /// </summary>
    public PngFolderDataset(string folder, int? height = null, int? width = null, int? channels = null,
        long cacheBytes = DefaultCacheBytes)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new DatasetException(folder, File.Exists(folder) ? "is a file; png-folder needs a folder of .png files" : "folder does not exist");
        }
        if (channels is not (null or 1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 or 3 channels");
        }
        Folder = folder;
        var trimmed = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        Name = Path.GetFileName(trimmed) is { Length: > 0 } leaf ? leaf : trimmed;

        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, MatchType = MatchType.Simple };
        List<(string Relative, string Full)> found;
        try
        {
            found = Directory.EnumerateFiles(folder, "*", options)
                .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
                .Select(f => (Relative: Path.GetRelativePath(folder, f).Replace('\\', '/'), Full: f))
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException(folder, $"cannot be listed ({e.Message})", e);
        }
        if (found.Count == 0)
        {
            throw new DatasetException(folder, "contains no .png files");
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Relative, b.Relative));
        _files = found.Select(f => f.Full).ToArray();

        _labels = new int[_files.Length];
        if (found.All(f => f.Relative.Contains('/', StringComparison.Ordinal)))
        {
            var classes = found.Select(f => f.Relative[..f.Relative.IndexOf('/', StringComparison.Ordinal)])
                .Distinct().Order(StringComparer.Ordinal).ToList();
            ClassNames = classes;
            for (var i = 0; i < _labels.Length; i++)
            {
                var relative = found[i].Relative;
                _labels[i] = classes.BinarySearch(relative[..relative.IndexOf('/', StringComparison.Ordinal)], StringComparer.Ordinal);
            }
        }
        else
        {
            ClassNames = [];
            Array.Fill(_labels, -1);
        }

        if (height == null || width == null || channels == null)
        {
            var header = PngDecoder.ReadHeader(_files[0]);
            height ??= header.Height;
            width ??= header.Width;
            channels ??= header.ColorType is PngColorType.Grey or PngColorType.GreyAlpha ? 1 : 3;
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(height.Value, 1, nameof(height));
        ArgumentOutOfRangeException.ThrowIfLessThan(width.Value, 1, nameof(width));
        Height = height.Value;
        Width = width.Value;
        Channels = channels.Value;

        var imageSize = (long)Channels * Height * Width;
        if (imageSize * _files.Length * sizeof(float) <= cacheBytes && imageSize * _files.Length <= Array.MaxLength)
        {
            _cache = new float[imageSize * _files.Length];
            _cached = new int[_files.Length];
        }
    }

    /// <summary>The folder read.</summary>
    public string Folder { get; }

    /// <summary>The image files, in data set order.</summary>
    public IReadOnlyList<string> Files => _files;

    /// <summary>The class (subfolder) names, index = label; empty when unlabeled.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int Count => _files.Length;

    /// <inheritdoc/>
    public int Channels { get; }

    /// <inheritdoc/>
    public int Height { get; }

    /// <inheritdoc/>
    public int Width { get; }

    /// <inheritdoc/>
    public int ClassCount => ClassNames.Count;

    /// <inheritdoc/>
    public int Label(int index) => _labels[index];

    /// <inheritdoc/>
    public void ReadImage(int index, Span<float> destination)
    {
        DataFiles.CheckDestination(this, index, destination);
        var size = destination.Length;
        if (_cache != null && Volatile.Read(ref _cached![index]) != 0)
        {
            _cache.AsSpan(index * size, size).CopyTo(destination);
            return;
        }
        Decode(_files[index], destination);
        if (_cache != null)
        {
            // Concurrent readers of one index write the same values; the flag is published after the data.
            destination.CopyTo(_cache.AsSpan(index * size, size));
            Volatile.Write(ref _cached![index], 1);
        }
    }

    private void Decode(string file, Span<float> destination)
    {
        var image = PngDecoder.ReadFile(file);
        var colors = image.ColorChannels;
        var plane = image.Width * image.Height;
        var pixels = new float[colors * plane];
        image.ToFloat(pixels, colors);
        if (image.Width == Width && image.Height == Height)
        {
            ImageResize.ConvertChannels(pixels, colors, destination, Channels, plane);
            return;
        }
        var keep = Math.Min(colors, Channels);
        float[] source = pixels;
        if (keep < colors)
        {
            source = new float[keep * plane];
            ImageResize.ConvertChannels(pixels, colors, source, keep, plane);
        }
        var resized = new float[keep * Height * Width];
        ImageResize.Resize(source, keep, image.Height, image.Width, resized, Height, Width);
        ImageResize.ConvertChannels(resized, keep, destination, Channels, Height * Width);
    }
}
