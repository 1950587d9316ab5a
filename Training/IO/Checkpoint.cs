namespace GanEngine.Training.IO;

/// <summary>
/// The contents of a checkpoint file (<see cref="CheckpointFile"/>): free-form string metadata (the
/// trainer keeps the config YAML, the step, RNG offsets and the architecture there), named float32
/// tensors and named byte blobs. Names are compared ordinally; the file keeps insertion order.
/// </summary>
public sealed class Checkpoint
{
    public Dictionary<string, string> Metadata { get; set; } = new(StringComparer.Ordinal);

    public Dictionary<string, CheckpointTensor> Tensors { get; set; } = new(StringComparer.Ordinal);

    public Dictionary<string, byte[]> Blobs { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>A float32 tensor of a checkpoint: its shape (row-major; rank 0 is a scalar) and its data.</summary>
public sealed record CheckpointTensor(int[] Shape, float[] Data)
{
    public int[] Shape { get; } = Shape ?? throw new ArgumentNullException(nameof(Shape));

    public float[] Data { get; } = CheckData(Shape, Data);

    /// <summary>Elements of a shape (1 for rank 0); throws on a negative dimension or overflow.</summary>
    public static long ElementCount(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (int dim in shape)
        {
            if (dim < 0)
            {
                throw new ArgumentException($"negative dimension {dim} in a tensor shape", nameof(shape));
            }
            count = checked(count * dim);
        }
        return count;
    }

    private static float[] CheckData(int[] shape, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        long count = shape is null ? data.Length : ElementCount(shape);
        if (count != data.Length)
        {
            throw new ArgumentException($"shape [{string.Join(", ", shape!)}] holds {count} elements but the data has {data.Length}", nameof(data));
        }
        return data;
    }
}

/// <summary>What is wrong with a checkpoint file that cannot be read.</summary>
public enum CheckpointError
{
    /// <summary>The file could not be opened or read (missing, no permission, I/O error).</summary>
    Unreadable,

    /// <summary>The file does not start with the checkpoint magic.</summary>
    NotACheckpoint,

    /// <summary>The file was written by a newer format version (or uses flags this reader does not know).</summary>
    NewerVersion,

    /// <summary>The file is shorter than its header says.</summary>
    Truncated,

    /// <summary>The stored checksum does not match the contents (the file was changed or damaged).</summary>
    ChecksumMismatch,

    /// <summary>A tensor, blob or metadata name occurs twice.</summary>
    DuplicateName,

    /// <summary>The structure is inconsistent (lengths past the end, invalid UTF-8 or JSON, ...).</summary>
    Corrupt,
}

/// <summary>A checkpoint file that cannot be read; the message names the file and the problem.</summary>
public sealed class CheckpointException : Exception
{
    public CheckpointException()
        : this("<unknown>", CheckpointError.Corrupt, "cannot be read")
    {
    }

    public CheckpointException(string message)
        : this("<unknown>", CheckpointError.Corrupt, message)
    {
    }

    public CheckpointException(string message, Exception innerException)
        : this("<unknown>", CheckpointError.Corrupt, message, innerException)
    {
    }

    public CheckpointException(string path, CheckpointError error, string problem, Exception? innerException = null)
        : base($"checkpoint '{path}': {problem}", innerException)
    {
        FilePath = path;
        Error = error;
    }

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }

    /// <summary>The kind of problem.</summary>
    public CheckpointError Error { get; }
}
