using System.Buffers.Binary;
using System.Security.Cryptography;
using GanEngine.Training.IO;
using NUnit.Framework;

namespace GanEngine.Tests.TrainingIO;

public sealed class CheckpointFileTests
{
    private string dir = "";

    [SetUp]
    public void SetUp()
    {
        dir = Path.Combine(Path.GetTempPath(), "ganengine-ckpt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(dir, recursive: true);

    private static Checkpoint Sample()
    {
        var c = new Checkpoint();
        c.Metadata["step"] = "1234";
        c.Metadata["config"] = "preset: digits\ntrain:\n  steps: 10 # \"quoted\" ünïcode ✓\n";
        c.Metadata["empty"] = "";
        c.Tensors["g.conv1.weight"] = new CheckpointTensor([2, 3, 1, 2], Enumerable.Range(0, 12).Select(i => (i * 0.25f) - 1).ToArray());
        c.Tensors["scalar"] = new CheckpointTensor([], [float.NaN]);
        c.Tensors["special"] = new CheckpointTensor([5], [float.PositiveInfinity, float.NegativeInfinity, -0f, float.Epsilon, float.MaxValue]);
        c.Tensors["empty"] = new CheckpointTensor([0, 4], []);
        c.Blobs["rng"] = [1, 2, 3, 255, 0];
        c.Blobs["nothing"] = [];
        return c;
    }

    private static void AssertEqual(Checkpoint actual, Checkpoint expected)
    {
        Assert.That(actual.Metadata, Is.EqualTo(expected.Metadata));
        Assert.That(actual.Tensors.Keys, Is.EqualTo(expected.Tensors.Keys), "tensor names, in order");
        foreach ((string name, CheckpointTensor t) in expected.Tensors)
        {
            Assert.That(actual.Tensors[name].Shape, Is.EqualTo(t.Shape), name);
            int[] bits = t.Data.Select(BitConverter.SingleToInt32Bits).ToArray();
            Assert.That(actual.Tensors[name].Data.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(bits), name + " (bit-exact)");
        }
        Assert.That(actual.Blobs.Keys, Is.EqualTo(expected.Blobs.Keys));
        foreach ((string name, byte[] b) in expected.Blobs)
        {
            Assert.That(actual.Blobs[name], Is.EqualTo(b), name);
        }
    }

    [Test]
    public void RoundTripsMetadataTensorsAndBlobs()
    {
        string path = Path.Combine(dir, "sub", "ckpt.bin");
        Checkpoint c = Sample();
        CheckpointFile.Write(path, c);
        AssertEqual(CheckpointFile.Read(path), c);
        Assert.That(File.Exists(path + ".tmp"), Is.False, "the temp file is renamed away");

        byte[] bytes = File.ReadAllBytes(path);
        Assert.That(bytes[..8], Is.EqualTo("GANCKPT\0"u8.ToArray()));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)), Is.EqualTo(CheckpointFile.FormatVersion));
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(16)), Is.EqualTo((ulong)bytes.Length));
    }

    [Test]
    public void AnEmptyCheckpointRoundTrips()
    {
        string path = Path.Combine(dir, "empty.ckpt");
        CheckpointFile.Write(path, new Checkpoint());
        Checkpoint back = CheckpointFile.Read(path);
        Assert.That(back.Metadata, Is.Empty);
        Assert.That(back.Tensors, Is.Empty);
        Assert.That(back.Blobs, Is.Empty);
    }

    [Test]
    public void ALargeTensorRoundTrips()
    {
        string path = Path.Combine(dir, "large.ckpt");
        var rng = new Random(5);
        float[] data = new float[3_000_000];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (float)rng.NextDouble();
        }
        var c = new Checkpoint();
        c.Tensors["w"] = new CheckpointTensor([1000, 3000], data);
        CheckpointFile.Write(path, c);
        Assert.That(CheckpointFile.Read(path).Tensors["w"].Data, Is.EqualTo(data));
    }

    [Test]
    public void AFlippedByteIsAChecksumMismatch()
    {
        string path = Path.Combine(dir, "ckpt");
        CheckpointFile.Write(path, Sample());
        byte[] bytes = File.ReadAllBytes(path);
        foreach (int offset in new[] { 40, bytes.Length / 2, bytes.Length - 40, bytes.Length - 1 })
        {
            byte[] damaged = (byte[])bytes.Clone();
            damaged[offset] ^= 0x10;
            File.WriteAllBytes(path, damaged);
            CheckpointException e = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path))!;
            Assert.That(e.Error, Is.EqualTo(CheckpointError.ChecksumMismatch), $"offset {offset}");
            Assert.That(e.Message, Does.Contain(path).And.Contain("checksum mismatch"));
            Assert.That(e.FilePath, Is.EqualTo(path));
        }
    }

    [Test]
    public void ATruncatedFileSaysSo()
    {
        string path = Path.Combine(dir, "ckpt");
        CheckpointFile.Write(path, Sample());
        byte[] bytes = File.ReadAllBytes(path);
        foreach (int length in new[] { bytes.Length - 1, bytes.Length / 2, 30, 12 })
        {
            File.WriteAllBytes(path, bytes[..length]);
            CheckpointException e = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path))!;
            Assert.That(e.Error, Is.EqualTo(CheckpointError.Truncated), $"{length} bytes");
            Assert.That(e.Message, Does.Contain(path).And.Contain("truncated"));
        }
        File.WriteAllBytes(path, [.. bytes, 0]);
        Assert.That(Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path))!.Error, Is.EqualTo(CheckpointError.Corrupt), "trailing bytes");
    }

    [Test]
    public void OtherFilesAreNotCheckpoints()
    {
        string path = Path.Combine(dir, "config.yaml");
        File.WriteAllText(path, "preset: digits\n");
        CheckpointException e = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path))!;
        Assert.That(e.Error, Is.EqualTo(CheckpointError.NotACheckpoint));
        Assert.That(e.Message, Does.Contain(path).And.Contain("not a checkpoint"));

        File.WriteAllBytes(path, []);
        Assert.That(Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path))!.Error, Is.EqualTo(CheckpointError.NotACheckpoint));

        string missing = Path.Combine(dir, "missing.ckpt");
        CheckpointException m = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(missing))!;
        Assert.That(m.Error, Is.EqualTo(CheckpointError.Unreadable));
        Assert.That(m.Message, Does.Contain(missing).And.Contain("does not exist"));
    }

    [Test]
    public void ANewerVersionIsRefusedByName()
    {
        string path = Path.Combine(dir, "ckpt");
        CheckpointFile.Write(path, Sample());
        byte[] bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), CheckpointFile.FormatVersion + 1);
        File.WriteAllBytes(path, bytes);
        CheckpointException e = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path))!;
        Assert.That(e.Error, Is.EqualTo(CheckpointError.NewerVersion));
        Assert.That(e.Message, Does.Contain("format version 2 is newer"));
    }

    [Test]
    public void ADuplicateNameIsReported()
    {
        string path = Path.Combine(dir, "ckpt");
        var c = new Checkpoint();
        c.Tensors["a"] = new CheckpointTensor([1], [1f]);
        c.Tensors["b"] = new CheckpointTensor([1], [2f]);
        CheckpointFile.Write(path, c);
        byte[] bytes = File.ReadAllBytes(path);
        // rename tensor "b" to "a": its name is the only 'b' byte after the metadata, preceded by length 1
        int metadataEnd = 28 + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(24));
        int nameB = Array.IndexOf(bytes, (byte)'b', metadataEnd);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(nameB - 4)), Is.EqualTo(1u));
        bytes[nameB] = (byte)'a';
        SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32), bytes.AsSpan(bytes.Length - 32));
        File.WriteAllBytes(path, bytes);
        CheckpointException e = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path))!;
        Assert.That(e.Error, Is.EqualTo(CheckpointError.DuplicateName));
        Assert.That(e.Message, Does.Contain("'a' occurs twice"));
    }

    [Test]
    public void AStaleTempFileFromACrashIsHarmless()
    {
        string path = Path.Combine(dir, "ckpt");
        Checkpoint first = Sample();
        CheckpointFile.Write(path, first);
        File.WriteAllBytes(path + CheckpointFile.TempSuffix, [1, 2, 3]); // a write that died half way
        AssertEqual(CheckpointFile.Read(path), first);

        var second = new Checkpoint();
        second.Metadata["step"] = "2";
        second.Tensors["x"] = new CheckpointTensor([2], [3f, 4f]);
        CheckpointFile.Write(path, second);
        AssertEqual(CheckpointFile.Read(path), second);
        Assert.That(File.Exists(path + CheckpointFile.TempSuffix), Is.False);
    }

    [Test]
    public void AFailedWriteLeavesTheOldCheckpoint()
    {
        string path = Path.Combine(dir, "ckpt");
        Checkpoint first = Sample();
        CheckpointFile.Write(path, first);
        var bad = new Checkpoint();
        bad.Tensors["ok"] = new CheckpointTensor([1], [1f]);
        bad.Metadata["broken"] = null!;
        Assert.Throws<ArgumentException>(() => CheckpointFile.Write(path, bad));
        AssertEqual(CheckpointFile.Read(path), first);
        Assert.That(File.Exists(path + CheckpointFile.TempSuffix), Is.False);
    }

    [Test]
    public void TensorShapeMustMatchItsData()
    {
        Assert.Throws<ArgumentException>(() => _ = new CheckpointTensor([2, 2], [1f, 2f, 3f]));
        Assert.Throws<ArgumentException>(() => _ = new CheckpointTensor([-1], []));
        Assert.Throws<ArgumentNullException>(() => _ = new CheckpointTensor(null!, []));
    }
}
