using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace GanEngine.Training.IO;

/// <summary>
/// Reads and writes checkpoint files: a versioned little-endian binary format with a SHA-256 trailer.
/// </summary>
/// <remarks>
/// Layout of format version 1 (all integers little-endian; docs/checkpoint-format.md has the same table):
/// <code>
/// offset  size      field
/// ------  --------  -------------------------------------------------------------------------------
/// 0       8         magic "GANCKPT\0" (47 41 4E 43 4B 50 54 00)
/// 8       4         format version, u32 (1)
/// 12      4         flags, u32 (0; a reader rejects bits it does not know)
/// 16      8         length of the whole file in bytes, u64 (trailer included)
/// 24      4         metadata length M, u32
/// 28      M         metadata: UTF-8 JSON object, every value a string
/// ...     4         tensor count T, u32
///         T times:  name length N (u32), N bytes UTF-8 name,
///                   rank R (u32, at most 32), R dimensions (u32 each, below 2^31),
///                   prod(dims) float32 values (rank 0: one value), row-major
/// ...     4         blob count B, u32
///         B times:  name length N (u32), N bytes UTF-8 name, data length L (u64), L bytes
/// end-32  32        SHA-256 of every byte before it
/// </code>
/// Names are unique within the metadata, within the tensors and within the blobs. <see cref="Write"/>
/// writes <c>path + ".tmp"</c>, flushes it to disk, then renames it over <c>path</c> (atomic on one file
/// system), so a crash leaves either the old checkpoint or the new one, never half of one; a stale
/// <c>.tmp</c> left by a crash is simply overwritten by the next write and never read.
/// </remarks>
public static class CheckpointFile
{
    /// <summary>The format version this build writes, and the newest it reads.</summary>
    public const uint FormatVersion = 1;

    /// <summary>Suffix of the temporary file a write goes through.</summary>
    public const string TempSuffix = ".tmp";

    private static ReadOnlySpan<byte> Magic => "GANCKPT\0"u8;

    private const int HeaderSize = 24;
    private const int HashSize = 32;
    private const int MaxRank = 32;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Writes <paramref name="checkpoint"/> to <paramref name="path"/> atomically (temp file, flush, rename).</summary>
    public static void Write(string path, Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(checkpoint);

        byte[] metadata = SerializeMetadata(checkpoint.Metadata);
        var tensors = checkpoint.Tensors.Select(kv => (Name: Utf8Name(kv.Key), Tensor: kv.Value ?? throw new ArgumentException($"tensor '{kv.Key}' is null", nameof(checkpoint)))).ToList();
        var blobs = checkpoint.Blobs.Select(kv => (Name: Utf8Name(kv.Key), Data: kv.Value ?? throw new ArgumentException($"blob '{kv.Key}' is null", nameof(checkpoint)))).ToList();

        long length = HeaderSize + 4L + metadata.Length + 4 + 4 + HashSize;
        foreach ((byte[] name, CheckpointTensor tensor) in tensors)
        {
            length += 4 + name.Length + 4 + (4L * tensor.Shape.Length) + (4L * tensor.Data.Length);
        }
        foreach ((byte[] name, byte[] data) in blobs)
        {
            length += 4 + name.Length + 8 + data.Length;
        }

        string fullPath = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        string temp = fullPath + TempSuffix;
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            using (var writer = new HashingWriter(stream))
            {
                Span<byte> header = stackalloc byte[HeaderSize];
                Magic.CopyTo(header);
                BinaryPrimitives.WriteUInt32LittleEndian(header[8..], FormatVersion);
                BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0);
                BinaryPrimitives.WriteUInt64LittleEndian(header[16..], (ulong)length);
                writer.Write(header);
                writer.WriteU32((uint)metadata.Length);
                writer.Write(metadata);

                writer.WriteU32((uint)tensors.Count);
                foreach ((byte[] name, CheckpointTensor tensor) in tensors)
                {
                    writer.WriteU32((uint)name.Length);
                    writer.Write(name);
                    writer.WriteU32((uint)tensor.Shape.Length);
                    foreach (int dim in tensor.Shape)
                    {
                        writer.WriteU32((uint)dim);
                    }
                    writer.WriteFloats(tensor.Data);
                }

                writer.WriteU32((uint)blobs.Count);
                foreach ((byte[] name, byte[] data) in blobs)
                {
                    writer.WriteU32((uint)name.Length);
                    writer.Write(name);
                    writer.WriteU64((ulong)data.Length);
                    writer.Write(data);
                }

                if (writer.Written != length - HashSize)
                {
                    throw new InvalidOperationException($"checkpoint writer bug: wrote {writer.Written} bytes before the trailer, planned {length - HashSize}");
                }
                writer.WriteHashTrailer();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Reads a checkpoint, verifying its header, length and checksum first.</summary>
    /// <exception cref="CheckpointException">The file is missing, not a checkpoint, of a newer version, truncated, corrupted or inconsistent.</exception>
    public static Checkpoint Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20);
            long fileLength = stream.Length;
            CheckHeader(path, stream, fileLength);
            VerifyChecksum(path, stream, fileLength);
            stream.Position = HeaderSize;
            return ReadBody(path, new BoundedReader(stream, fileLength - HashSize));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            string problem = e is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist" : "cannot be read: " + e.Message;
            throw new CheckpointException(path, CheckpointError.Unreadable, problem, e);
        }
    }

    private static void CheckHeader(string path, FileStream stream, long fileLength)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        int got = stream.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false);
        if (got < Magic.Length || !header[..Magic.Length].SequenceEqual(Magic))
        {
            throw new CheckpointException(path, CheckpointError.NotACheckpoint,
                $"not a checkpoint file (it does not start with the magic \"GANCKPT\\0\"; {fileLength} bytes)");
        }
        if (got < HeaderSize)
        {
            throw new CheckpointException(path, CheckpointError.Truncated, $"truncated: {fileLength} bytes, shorter than the {HeaderSize}-byte header");
        }
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version > FormatVersion)
        {
            throw new CheckpointException(path, CheckpointError.NewerVersion,
                $"format version {version} is newer than this build reads (up to {FormatVersion}); update GanEngine to read it");
        }
        if (version == 0)
        {
            throw new CheckpointException(path, CheckpointError.Corrupt, "format version 0 does not exist (the header is damaged)");
        }
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (flags != 0)
        {
            throw new CheckpointException(path, CheckpointError.NewerVersion,
                $"header flags 0x{flags:x8} are not known to this build (version {FormatVersion} defines none)");
        }
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
        if ((ulong)fileLength < declared)
        {
            throw new CheckpointException(path, CheckpointError.Truncated,
                $"truncated: the header declares {declared} bytes but the file has {fileLength} (an interrupted copy or write?)");
        }
        if ((ulong)fileLength > declared)
        {
            throw new CheckpointException(path, CheckpointError.Corrupt,
                $"the header declares {declared} bytes but the file has {fileLength}: {(ulong)fileLength - declared} unexpected trailing bytes (or a damaged header)");
        }
        if (fileLength < HeaderSize + 4 + 4 + 4 + HashSize)
        {
            throw new CheckpointException(path, CheckpointError.Corrupt, $"{fileLength} bytes is too short for even an empty checkpoint (the header is damaged)");
        }
    }

    private static void VerifyChecksum(string path, FileStream stream, long fileLength)
    {
        stream.Position = 0;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        long remaining = fileLength - HashSize;
        while (remaining > 0)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
            if (n == 0)
            {
                throw new CheckpointException(path, CheckpointError.Truncated, "truncated while reading (the file shrank?)");
            }
            hash.AppendData(buffer, 0, n);
            remaining -= n;
        }
        Span<byte> stored = stackalloc byte[HashSize];
        stream.ReadExactly(stored);
        Span<byte> computed = stackalloc byte[HashSize];
        hash.GetHashAndReset(computed);
        if (!stored.SequenceEqual(computed))
        {
            throw new CheckpointException(path, CheckpointError.ChecksumMismatch,
                $"checksum mismatch: the contents were changed or damaged after writing (stored SHA-256 {Convert.ToHexStringLower(stored)[..16]}..., computed {Convert.ToHexStringLower(computed)[..16]}...)");
        }
    }

    private static Checkpoint ReadBody(string path, BoundedReader reader)
    {
        var checkpoint = new Checkpoint();
        try
        {
            uint metadataLength = reader.ReadU32("metadata length");
            byte[] metadata = reader.ReadBytes(metadataLength, "metadata");
            DeserializeMetadata(path, metadata, checkpoint.Metadata);

            uint tensorCount = reader.ReadU32("tensor count");
            for (uint t = 0; t < tensorCount; t++)
            {
                string name = ReadName(path, reader, "tensor");
                uint rank = reader.ReadU32($"rank of tensor '{name}'");
                if (rank > MaxRank)
                {
                    throw new CheckpointException(path, CheckpointError.Corrupt, $"tensor '{name}' has rank {rank} (at most {MaxRank})");
                }
                int[] shape = new int[rank];
                for (int i = 0; i < rank; i++)
                {
                    uint dim = reader.ReadU32($"shape of tensor '{name}'");
                    if (dim > int.MaxValue)
                    {
                        throw new CheckpointException(path, CheckpointError.Corrupt, $"tensor '{name}' has dimension {dim}");
                    }
                    shape[i] = (int)dim;
                }
                long count = CheckpointTensor.ElementCount(shape);
                if (count > Array.MaxLength || count * 4 > reader.Remaining)
                {
                    throw new CheckpointException(path, CheckpointError.Corrupt,
                        $"tensor '{name}' of shape [{string.Join(", ", shape)}] needs {count * 4} bytes but {reader.Remaining} remain");
                }
                float[] data = reader.ReadFloats((int)count, $"data of tensor '{name}'");
                if (!checkpoint.Tensors.TryAdd(name, new CheckpointTensor(shape, data)))
                {
                    throw new CheckpointException(path, CheckpointError.DuplicateName, $"the tensor name '{name}' occurs twice");
                }
            }

            uint blobCount = reader.ReadU32("blob count");
            for (uint b = 0; b < blobCount; b++)
            {
                string name = ReadName(path, reader, "blob");
                ulong length = reader.ReadU64($"length of blob '{name}'");
                if (length > (ulong)Array.MaxLength)
                {
                    throw new CheckpointException(path, CheckpointError.Corrupt, $"blob '{name}' claims {length} bytes");
                }
                byte[] data = reader.ReadBytes(length, $"blob '{name}'");
                if (!checkpoint.Blobs.TryAdd(name, data))
                {
                    throw new CheckpointException(path, CheckpointError.DuplicateName, $"the blob name '{name}' occurs twice");
                }
            }
            if (reader.Remaining != 0)
            {
                throw new CheckpointException(path, CheckpointError.Corrupt, $"{reader.Remaining} unexpected bytes after the last blob");
            }
        }
        catch (EndOfDataException e)
        {
            throw new CheckpointException(path, CheckpointError.Corrupt, e.Message, e);
        }
        return checkpoint;
    }

    private static string ReadName(string path, BoundedReader reader, string what)
    {
        uint length = reader.ReadU32($"{what} name length");
        byte[] bytes = reader.ReadBytes(length, $"{what} name");
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new CheckpointException(path, CheckpointError.Corrupt, $"a {what} name is not valid UTF-8", e);
        }
    }

    private static byte[] Utf8Name(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return StrictUtf8.GetBytes(name);
    }

    private static byte[] SerializeMetadata(Dictionary<string, string> metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true }))
        {
            json.WriteStartObject();
            foreach ((string key, string value) in metadata)
            {
                json.WriteString(key, value ?? throw new ArgumentException($"metadata value of '{key}' is null", nameof(metadata)));
            }
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void DeserializeMetadata(string path, byte[] utf8, Dictionary<string, string> into)
    {
        try
        {
            var json = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
            {
                throw new CheckpointException(path, CheckpointError.Corrupt, "the metadata is not a JSON object");
            }
            while (json.Read() && json.TokenType != JsonTokenType.EndObject)
            {
                string key = json.GetString()!;
                if (!json.Read() || json.TokenType != JsonTokenType.String)
                {
                    throw new CheckpointException(path, CheckpointError.Corrupt, $"metadata value of '{key}' is not a string");
                }
                if (!into.TryAdd(key, json.GetString()!))
                {
                    throw new CheckpointException(path, CheckpointError.DuplicateName, $"the metadata key '{key}' occurs twice");
                }
            }
            if (json.TokenType != JsonTokenType.EndObject || json.Read())
            {
                throw new CheckpointException(path, CheckpointError.Corrupt, "the metadata JSON does not end after its object");
            }
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, CheckpointError.Corrupt, "the metadata is not valid JSON: " + e.Message, e);
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the original error matters more
        }
    }

    /// <summary>Writes to a stream and hashes what it writes (SHA-256), counting the bytes.</summary>
    private sealed class HashingWriter(Stream stream) : IDisposable
    {
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly byte[] scratch = new byte[1 << 16];

        public long Written { get; private set; }

        public void Write(ReadOnlySpan<byte> bytes)
        {
            hash.AppendData(bytes);
            stream.Write(bytes);
            Written += bytes.Length;
        }

        public void WriteU32(uint value)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, value);
            Write(b);
        }

        public void WriteU64(ulong value)
        {
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(b, value);
            Write(b);
        }

        public void WriteFloats(ReadOnlySpan<float> values)
        {
            if (BitConverter.IsLittleEndian)
            {
                Write(MemoryMarshal.AsBytes(values));
                return;
            }
            int perChunk = scratch.Length / 4;
            for (int start = 0; start < values.Length; start += perChunk)
            {
                ReadOnlySpan<float> chunk = values.Slice(start, Math.Min(perChunk, values.Length - start));
                for (int i = 0; i < chunk.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(scratch.AsSpan(4 * i), chunk[i]);
                }
                Write(scratch.AsSpan(0, 4 * chunk.Length));
            }
        }

        public void WriteHashTrailer()
        {
            Span<byte> digest = stackalloc byte[HashSize];
            hash.GetHashAndReset(digest);
            stream.Write(digest);
            Written += HashSize;
        }

        public void Dispose() => hash.Dispose();
    }

    private sealed class EndOfDataException(string message) : Exception(message);

    /// <summary>Reads little-endian fields from a stream, never past <c>end</c> (the start of the trailer).</summary>
    private sealed class BoundedReader(Stream stream, long end)
    {
        public long Remaining => end - stream.Position;

        public uint ReadU32(string what)
        {
            Span<byte> b = stackalloc byte[4];
            Fill(b, what);
            return BinaryPrimitives.ReadUInt32LittleEndian(b);
        }

        public ulong ReadU64(string what)
        {
            Span<byte> b = stackalloc byte[8];
            Fill(b, what);
            return BinaryPrimitives.ReadUInt64LittleEndian(b);
        }

        public byte[] ReadBytes(ulong count, string what)
        {
            if (count > (ulong)Math.Max(0, Remaining))
            {
                throw new EndOfDataException($"the {what} ({count} bytes at offset {stream.Position}) runs past the end of the data");
            }
            byte[] bytes = new byte[count];
            Fill(bytes, what);
            return bytes;
        }

        public float[] ReadFloats(int count, string what)
        {
            float[] values = new float[count];
            Fill(MemoryMarshal.AsBytes(values.AsSpan()), what);
            if (!BitConverter.IsLittleEndian)
            {
                Span<int> bits = MemoryMarshal.Cast<float, int>(values.AsSpan());
                BinaryPrimitives.ReverseEndianness(bits, bits);
            }
            return values;
        }

        private void Fill(Span<byte> into, string what)
        {
            if (into.Length > Remaining)
            {
                throw new EndOfDataException($"the {what} ({into.Length} bytes at offset {stream.Position}) runs past the end of the data");
            }
            stream.ReadExactly(into);
        }
    }
}
