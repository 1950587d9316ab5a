using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace GanEngine.Accelerators.Cuda;

/// <summary>Where a compiled kernel image came from.</summary>
public enum KernelCacheOutcome
{
    /// <summary>Compiled from source (NVRTC).</summary>
    Compiled,
    /// <summary>Read from the on-disk cache.</summary>
    LoadedFromDisk,
    /// <summary>Found in this cache instance's memory.</summary>
    LoadedFromMemory,
}

/// <summary>
/// Compiled kernel images (CUBIN or PTX bytes) keyed by a SHA-256 of everything that determines
/// them: source, compiler options (the <c>-DGE_SPEC_*</c> specialization defines included), compiler
/// version and target architecture. Two layers: an in-memory dictionary and a directory of files.
/// </summary>
/// <remarks>
/// A file is a 48-byte header (magic <c>GEKC</c>, format version, payload length, SHA-256 of the
/// payload) followed by the payload. Files are written to a temporary name in the same directory
/// and moved over the final name, so readers never see a half-written entry; an entry whose header
/// or hash does not match (corrupt, truncated, another format) is deleted and treated as a miss.
/// The cache holds bytes only, so it works, and is tested, without a GPU. Disk errors never fail a
/// compile: the cache is an optimisation.
/// </remarks>
public sealed class CudaKernelCache
{
    /// <summary>Environment variable that overrides <see cref="DefaultDirectory"/>.</summary>
    public const string DirectoryVariable = "GANENGINE_KERNEL_CACHE";

    /// <summary>Size of the file header in bytes.</summary>
    public const int HeaderSize = 48;

    /// <summary>Version of the file format; bump to ignore (and replace) older entries.</summary>
    public const uint FormatVersion = 1;

    private static readonly byte[] Magic = "GEKC"u8.ToArray();

    private readonly ConcurrentDictionary<string, byte[]> _memory = new(StringComparer.Ordinal);
    private readonly Lock _compileLock = new();
    private readonly KernelCompileStatistics _statistics;
    private long _corruptEntries;

    /// <param name="directory">Cache directory; null for <see cref="DefaultDirectory"/>.</param>
    /// <param name="statistics">Counters to update (the accelerator's).</param>
    public CudaKernelCache(string? directory, KernelCompileStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        Directory = directory ?? DefaultDirectory();
        _statistics = statistics;
    }

    /// <summary>The directory holding the entries.</summary>
    public string Directory { get; }

    /// <summary>How many corrupt or truncated entries were found (and deleted) by this instance.</summary>
    public long CorruptEntriesDiscarded => Interlocked.Read(ref _corruptEntries);

    /// <summary>
    /// <c>$GANENGINE_KERNEL_CACHE</c>, else <c>~/.cache/ganengine/kernels</c>, else (no home
    /// directory) <c>&lt;temp&gt;/ganengine-kernels</c>.
    /// </summary>
    public static string DefaultDirectory()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(home))
        {
            return Path.Combine(home, ".cache", "ganengine", "kernels");
        }
        return Path.Combine(Path.GetTempPath(), "ganengine-kernels");
    }

    /// <summary>The cache key: lower-case hex SHA-256 of source, options, compiler version and architecture.</summary>
    public static string ComputeKey(string source, IEnumerable<string> options, string compilerVersion, string architecture)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        var text = new StringBuilder(source.Length + 256);
        text.Append("ganengine-cuda-kernel\n");
        Field(text, "compiler", compilerVersion);
        Field(text, "arch", architecture);
        foreach (string option in options)
        {
            Field(text, "option", option);
        }
        Field(text, "source", source);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));

        // Length-prefixed, so that no two different inputs produce the same text.
        static void Field(StringBuilder text, string name, string value) =>
            text.Append(name).Append(' ').Append(value.Length).Append(':').Append(value).Append('\n');
    }

    /// <summary>Path of the entry for <paramref name="key"/>.</summary>
    public string PathFor(string key)
    {
        ValidateKey(key);
        return Path.Combine(Directory, key + ".gekc");
    }

    /// <summary>
    /// The image for <paramref name="key"/>: from memory, else from disk, else from
    /// <paramref name="compile"/> (then stored in both). Updates the statistics accordingly.
    /// Exceptions from <paramref name="compile"/> propagate and nothing is stored.
    /// </summary>
    public byte[] GetOrCompile(string key, Func<byte[]> compile, out KernelCacheOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(compile);
        ValidateKey(key);
        if (_memory.TryGetValue(key, out byte[]? cached))
        {
            _statistics.CountLoadedFromMemory();
            outcome = KernelCacheOutcome.LoadedFromMemory;
            return cached;
        }
        lock (_compileLock)
        {
            if (_memory.TryGetValue(key, out cached))
            {
                _statistics.CountLoadedFromMemory();
                outcome = KernelCacheOutcome.LoadedFromMemory;
                return cached;
            }
            if (TryRead(key, out byte[] payload))
            {
                _memory[key] = payload;
                _statistics.CountLoadedFromDisk();
                outcome = KernelCacheOutcome.LoadedFromDisk;
                return payload;
            }
            payload = compile() ?? throw new InvalidOperationException("The kernel compiler returned no image.");
            _statistics.CountCompiled();
            Write(key, payload);
            _memory[key] = payload;
            outcome = KernelCacheOutcome.Compiled;
            return payload;
        }
    }

    /// <summary>Reads and verifies the entry for <paramref name="key"/>; deletes it if it is damaged.</summary>
    public bool TryRead(string key, out byte[] payload)
    {
        string path = PathFor(key);
        payload = [];
        byte[] file;
        try
        {
            if (!File.Exists(path))
            {
                return false;
            }
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        if (!TryDecode(file, out payload, out string problem))
        {
            Interlocked.Increment(ref _corruptEntries);
            Trace.TraceWarning($"GanEngine kernel cache: discarding {path}: {problem}.");
            TryDelete(path);
            payload = [];
            return false;
        }
        return true;
    }

    /// <summary>Stores <paramref name="payload"/> under <paramref name="key"/> atomically (temp file, then move).</summary>
    /// <returns>False when the directory could not be written (the entry is then only in memory).</returns>
    public bool Write(string key, ReadOnlySpan<byte> payload)
    {
        string path = PathFor(key);
        string temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(EncodeHeader(payload));
                stream.Write(payload);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Trace.TraceWarning($"GanEngine kernel cache: cannot write {path}: {e.Message}");
            TryDelete(temporary);
            return false;
        }
    }

    /// <summary>Header + payload, as written to disk.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> payload)
    {
        var file = new byte[HeaderSize + payload.Length];
        EncodeHeader(payload).CopyTo(file, 0);
        payload.CopyTo(file.AsSpan(HeaderSize));
        return file;
    }

    /// <summary>Checks a file's header and hash; on success returns its payload.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> file, out byte[] payload, out string problem)
    {
        payload = [];
        if (file.Length < HeaderSize)
        {
            problem = $"{file.Length} bytes is shorter than the {HeaderSize}-byte header";
            return false;
        }
        if (!file[..4].SequenceEqual(Magic))
        {
            problem = "bad magic";
            return false;
        }
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(file[4..]);
        if (version != FormatVersion)
        {
            problem = $"format version {version}, expected {FormatVersion}";
            return false;
        }
        long length = BinaryPrimitives.ReadInt64LittleEndian(file[8..]);
        if (length != file.Length - HeaderSize)
        {
            problem = $"header says {length} payload bytes, file holds {file.Length - HeaderSize}";
            return false;
        }
        var body = file[HeaderSize..];
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(body, hash);
        if (!hash.SequenceEqual(file.Slice(16, 32)))
        {
            problem = "payload hash mismatch";
            return false;
        }
        payload = body.ToArray();
        problem = string.Empty;
        return true;
    }

    private static byte[] EncodeHeader(ReadOnlySpan<byte> payload)
    {
        var header = new byte[HeaderSize];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), payload.Length);
        SHA256.HashData(payload, header.AsSpan(16, 32));
        return header;
    }

    private static void ValidateKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        foreach (char c in key)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                throw new ArgumentException($"Cache keys are lower-case hex (from ComputeKey), not '{key}'.", nameof(key));
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
