namespace GanEngine.Datasets;

/// <summary>Opens the data set a <see cref="DatasetSpec"/> names, delivered at the spec's size and channels.</summary>
public static class DatasetFactory
{
    /// <summary>The kinds <see cref="Open"/> knows.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["digits", "mnist", "fashion-mnist", "cifar10", "cifar100", "png-folder"];

    /// <summary>
    /// Opens the data set and wraps it so images come out at Resolution x Resolution with Channels channels
    /// (resize: bilinear for upscaling, area averaging for downscaling; grey to RGB replicates, RGB to grey
    /// uses ITU-R 601 luma). The split selects digits' fixed fifth, or the train / t10k / test files of IDX and
    /// CIFAR directories; it is not used for single files and PNG folders.
    /// </summary>
    /// <exception cref="DatasetException">The file or folder is missing or malformed, or the spec is invalid; the message names it.</exception>
    public static IImageDataset Open(DatasetSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var kind = (spec.Kind ?? "").Trim().ToLowerInvariant();
        var path = string.IsNullOrWhiteSpace(spec.Path) ? null : spec.Path;
        var subject = path ?? (kind.Length > 0 ? kind : "data set");
        if (spec.Resolution is < 1 or > 8192)
        {
            throw new DatasetException(subject, $"resolution {spec.Resolution} is outside 1..8192");
        }
        if (spec.Channels is not (1 or 3))
        {
            throw new DatasetException(subject, $"{spec.Channels} channels requested; 1 (grey) or 3 (RGB) are supported");
        }
        if (!Enum.IsDefined(spec.Split))
        {
            throw new DatasetException(subject, $"unknown split {spec.Split}");
        }
        IImageDataset dataset = kind switch
        {
            "digits" => path == null ? DigitsDataset.BuiltIn(spec.Split) : DigitsDataset.FromFile(path, spec.Split),
            "mnist" or "fashion-mnist" => IdxDataset.Open(Require(path, kind), spec.Split, kind),
            "cifar10" => CifarDataset.Open(Require(path, kind), spec.Split, hundred: false),
            "cifar100" => CifarDataset.Open(Require(path, kind), spec.Split, hundred: true),
            "png-folder" => new PngFolderDataset(Require(path, kind), spec.Resolution, spec.Resolution, spec.Channels),
            _ => throw new DatasetException(subject,
                $"unknown data set kind \"{spec.Kind}\" (expected {string.Join(", ", Kinds)})"),
        };
        return Deliver(dataset, spec.Resolution, spec.Resolution, spec.Channels);
    }

    /// <summary>
    /// <paramref name="dataset"/> itself when it already has the shape, otherwise a <see cref="ResizedDataset"/> around it.
    /// </summary>
    public static IImageDataset Deliver(IImageDataset dataset, int height, int width, int channels)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return dataset.Height == height && dataset.Width == width && dataset.Channels == channels
            ? dataset
            : new ResizedDataset(dataset, height, width, channels);
    }

    private static string Require(string? path, string kind) =>
        path ?? throw new DatasetException(kind, "needs a path (the data set's file or directory)");
}
