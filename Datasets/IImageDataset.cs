namespace GanEngine.Datasets;

/// <summary>
/// A data set of images, read as CHW floats in [-1, 1] at the data set's own size and channel count.
/// Implementations are safe to read from one thread while another thread only reads the properties.
/// </summary>
public interface IImageDataset
{
    /// <summary>A short human-readable name, e.g. "digits (train)" or the file or folder name.</summary>
    string Name { get; }

    /// <summary>Number of images.</summary>
    int Count { get; }

    /// <summary>Channels per image (1 grey, 3 RGB).</summary>
    int Channels { get; }

    /// <summary>Image height in pixels.</summary>
    int Height { get; }

    /// <summary>Image width in pixels.</summary>
    int Width { get; }

    /// <summary>Number of classes; 0 when the data set is unlabeled.</summary>
    int ClassCount { get; }

    /// <summary>
    /// Writes image <paramref name="index"/> as CHW floats in [-1, 1];
    /// <paramref name="destination"/> holds exactly <c>Channels * Height * Width</c> floats.
    /// </summary>
    void ReadImage(int index, Span<float> destination);

    /// <summary>The class of image <paramref name="index"/>, or -1 when the data set is unlabeled.</summary>
    int Label(int index);
}

/// <summary>Which part of a data set to read.</summary>
public enum DatasetSplit
{
    /// <summary>Every image (train and test together).</summary>
    All,

    /// <summary>The training part.</summary>
    Train,

    /// <summary>The held-out part.</summary>
    Test,
}

/// <summary>What <see cref="DatasetFactory.Open"/> opens and the image shape it delivers.</summary>
/// <param name="Kind">"digits" | "mnist" | "fashion-mnist" | "cifar10" | "cifar100" | "png-folder".</param>
/// <param name="Path">File or directory of the data; null for the built-in digits.</param>
/// <param name="Split">Which part to read.</param>
/// <param name="Resolution">Side of the square images delivered.</param>
/// <param name="Channels">Channels delivered: 1 (grey) or 3 (RGB).</param>
public sealed record DatasetSpec(string Kind, string? Path, DatasetSplit Split, int Resolution, int Channels);

/// <summary>A data set file or folder that cannot be read; the message names the file and the problem.</summary>
public class DatasetException : Exception
{
    /// <summary>Creates the exception for <paramref name="file"/> (a file, folder or data set name).</summary>
    public DatasetException(string file, string problem)
        : base($"{file}: {problem}")
    {
        FilePath = file;
    }

    /// <summary>Creates the exception for <paramref name="file"/>, caused by <paramref name="inner"/>.</summary>
    public DatasetException(string file, string problem, Exception inner)
        : base($"{file}: {problem}", inner)
    {
        FilePath = file;
    }

    /// <summary>Creates the exception with a ready message (no file).</summary>
    public DatasetException()
        : base("data set error")
    {
        FilePath = "";
    }

    /// <summary>Creates the exception with a ready message (no file).</summary>
    public DatasetException(string message)
        : base(message)
    {
        FilePath = "";
    }

    /// <summary>Creates the exception with a ready message (no file) and a cause.</summary>
    public DatasetException(string message, Exception inner)
        : base(message, inner)
    {
        FilePath = "";
    }

    /// <summary>The file, folder or data set the problem is in.</summary>
    public string FilePath { get; }
}
