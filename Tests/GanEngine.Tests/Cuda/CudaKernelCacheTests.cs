using GanEngine.Accelerators;
using GanEngine.Accelerators.Cuda;
using NUnit.Framework;

namespace GanEngine.Tests.Cuda;

/// <summary>The CUDA kernel cache's memory and disk layers, with byte payloads: no GPU needed.</summary>
[TestFixture]
public sealed class CudaKernelCacheTests
{
    private string _directory = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "ganengine-cache-test-" + Guid.NewGuid().ToString("N"));
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static string Key(string source = "kernel", string spec = "-DGE_SPEC_n=1") =>
        CudaKernelCache.ComputeKey(source, ["--gpu-architecture=sm_90", spec], "nvrtc 13.0", "sm_90");

    private static byte[] Payload(int length, int seed = 7)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Test]
    public void KeyDependsOnEveryInput()
    {
        string key = Key();
        Assert.That(key, Has.Length.EqualTo(64).And.Match("^[0-9a-f]+$"));
        Assert.That(Key(), Is.EqualTo(key));
        Assert.That(Key(source: "kernel2"), Is.Not.EqualTo(key));
        Assert.That(Key(spec: "-DGE_SPEC_n=2"), Is.Not.EqualTo(key));
        Assert.That(CudaKernelCache.ComputeKey("kernel", ["--gpu-architecture=sm_90", "-DGE_SPEC_n=1"], "nvrtc 12.9", "sm_90"), Is.Not.EqualTo(key));
        Assert.That(CudaKernelCache.ComputeKey("kernel", ["--gpu-architecture=sm_90", "-DGE_SPEC_n=1"], "nvrtc 13.0", "sm_100"), Is.Not.EqualTo(key));
        // Field boundaries matter: moving text between option and source changes the key.
        Assert.That(CudaKernelCache.ComputeKey("ab", ["c"], "v", "a"), Is.Not.EqualTo(CudaKernelCache.ComputeKey("b", ["ca"], "v", "a")));
    }

    [Test]
    public void CompilesOnceThenServesFromMemoryThenFromDisk()
    {
        var statistics = new KernelCompileStatistics();
        var cache = new CudaKernelCache(_directory, statistics);
        var payload = Payload(1000);
        int compiles = 0;
        byte[] Compile()
        {
            compiles++;
            return payload;
        }

        var first = cache.GetOrCompile(Key(), Compile, out var outcome1);
        var second = cache.GetOrCompile(Key(), Compile, out var outcome2);
        Assert.That(outcome1, Is.EqualTo(KernelCacheOutcome.Compiled));
        Assert.That(outcome2, Is.EqualTo(KernelCacheOutcome.LoadedFromMemory));
        Assert.That(first, Is.EqualTo(payload));
        Assert.That(second, Is.EqualTo(payload));
        Assert.That(File.Exists(cache.PathFor(Key())));

        // A new instance (as a new process would) reads the disk entry.
        var statistics2 = new KernelCompileStatistics();
        var reopened = new CudaKernelCache(_directory, statistics2);
        var third = reopened.GetOrCompile(Key(), Compile, out var outcome3);
        Assert.That(outcome3, Is.EqualTo(KernelCacheOutcome.LoadedFromDisk));
        Assert.That(third, Is.EqualTo(payload));
        Assert.That(compiles, Is.EqualTo(1));
        Assert.That((statistics.Compiled, statistics.LoadedFromMemory, statistics.LoadedFromDisk), Is.EqualTo((1L, 1L, 0L)));
        Assert.That((statistics2.Compiled, statistics2.LoadedFromMemory, statistics2.LoadedFromDisk), Is.EqualTo((0L, 0L, 1L)));
    }

    [Test]
    public void DifferentSpecializationsAreDifferentEntries()
    {
        var cache = new CudaKernelCache(_directory, new KernelCompileStatistics());
        cache.GetOrCompile(Key(spec: "-DGE_SPEC_n=1"), () => [1], out _);
        var two = cache.GetOrCompile(Key(spec: "-DGE_SPEC_n=2"), () => [2], out var outcome);
        Assert.That(outcome, Is.EqualTo(KernelCacheOutcome.Compiled));
        Assert.That(two, Is.EqualTo(new byte[] { 2 }));
        Assert.That(Directory.GetFiles(_directory, "*.gekc"), Has.Length.EqualTo(2));
    }

    [TestCase("flip")]
    [TestCase("truncate")]
    [TestCase("empty")]
    [TestCase("magic")]
    [TestCase("version")]
    [TestCase("extra")]
    public void DamagedEntryIsDetectedDeletedAndRecompiled(string damage)
    {
        var payload = Payload(4096);
        new CudaKernelCache(_directory, new KernelCompileStatistics()).GetOrCompile(Key(), () => payload, out _);
        string path = Path.Combine(_directory, Key() + ".gekc");
        byte[] file = File.ReadAllBytes(path);
        switch (damage)
        {
            case "flip":
                file[CudaKernelCache.HeaderSize + 100] ^= 0x40;
                break;
            case "truncate":
                file = file[..(file.Length - 1000)];
                break;
            case "empty":
                file = [];
                break;
            case "magic":
                file[0] = (byte)'X';
                break;
            case "version":
                file[4] = 99;
                break;
            case "extra":
                file = [.. file, 0];
                break;
        }
        File.WriteAllBytes(path, file);

        var statistics = new KernelCompileStatistics();
        var cache = new CudaKernelCache(_directory, statistics);
        int compiles = 0;
        var result = cache.GetOrCompile(Key(), () =>
        {
            compiles++;
            return payload;
        }, out var outcome);

        Assert.That(outcome, Is.EqualTo(KernelCacheOutcome.Compiled));
        Assert.That(compiles, Is.EqualTo(1));
        Assert.That(result, Is.EqualTo(payload));
        Assert.That(cache.CorruptEntriesDiscarded, Is.EqualTo(1));
        Assert.That((statistics.Compiled, statistics.LoadedFromDisk), Is.EqualTo((1L, 0L)));
        // The recompiled image replaced the damaged file.
        Assert.That(CudaKernelCache.TryDecode(File.ReadAllBytes(path), out var reread, out string problem), Is.True, problem);
        Assert.That(reread, Is.EqualTo(payload));
    }

    [Test]
    public void TryReadDeletesDamagedFile()
    {
        var cache = new CudaKernelCache(_directory, new KernelCompileStatistics());
        Assert.That(cache.Write(Key(), Payload(300)), Is.True);
        string path = cache.PathFor(Key());
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..20]);
        Assert.That(cache.TryRead(Key(), out _), Is.False);
        Assert.That(File.Exists(path), Is.False);
        Assert.That(cache.TryRead(Key(), out _), Is.False, "a missing entry is a plain miss");
        Assert.That(cache.CorruptEntriesDiscarded, Is.EqualTo(1));
    }

    [Test]
    public void WriteIsAtomicAndLeavesNoTemporaryFiles()
    {
        var cache = new CudaKernelCache(_directory, new KernelCompileStatistics());
        string path = cache.PathFor(Key());
        // An older entry is replaced whole; concurrent readers only ever see a valid entry.
        Assert.That(cache.Write(Key(), Payload(50_000, seed: 1)), Is.True);
        var payload = Payload(60_000, seed: 2);
        using var stop = new CancellationTokenSource();
        int invalid = 0;
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    byte[] file = File.ReadAllBytes(path);
                    if (!CudaKernelCache.TryDecode(file, out _, out _))
                    {
                        Interlocked.Increment(ref invalid);
                    }
                }
                catch (IOException)
                {
                }
            }
        });
        for (int i = 0; i < 50; i++)
        {
            Assert.That(cache.Write(Key(), i % 2 == 0 ? payload : Payload(50_000, seed: 1)), Is.True);
        }
        stop.Cancel();
        reader.Wait();
        Assert.That(invalid, Is.Zero, "a reader saw a half-written entry");
        Assert.That(Directory.GetFiles(_directory), Is.EqualTo(new[] { path }), "temporary files were left behind");
    }

    [Test]
    public void EncodeDecodeRoundTrip()
    {
        var payload = Payload(777);
        byte[] file = CudaKernelCache.Encode(payload);
        Assert.That(file, Has.Length.EqualTo(CudaKernelCache.HeaderSize + payload.Length));
        Assert.That(CudaKernelCache.TryDecode(file, out var decoded, out _), Is.True);
        Assert.That(decoded, Is.EqualTo(payload));
        Assert.That(CudaKernelCache.TryDecode(CudaKernelCache.Encode([]), out var empty, out _), Is.True);
        Assert.That(empty, Is.Empty);
    }

    [Test]
    public void CompileFailureStoresNothing()
    {
        var statistics = new KernelCompileStatistics();
        var cache = new CudaKernelCache(_directory, statistics);
        Assert.Throws<KernelCompilationException>(() => cache.GetOrCompile(Key(), () => throw new KernelCompilationException("K", [], "error"), out _));
        Assert.That(File.Exists(cache.PathFor(Key())), Is.False);
        Assert.That(statistics.Compiled, Is.Zero);
        var payload = cache.GetOrCompile(Key(), () => [9], out var outcome);
        Assert.That(outcome, Is.EqualTo(KernelCacheOutcome.Compiled));
        Assert.That(payload, Is.EqualTo(new byte[] { 9 }));
    }

    [Test]
    public void UnwritableDirectoryFallsBackToMemory()
    {
        // A file where the directory should be: writes fail, compiles still succeed.
        File.WriteAllText(_directory, "not a directory");
        try
        {
            var cache = new CudaKernelCache(_directory, new KernelCompileStatistics());
            var payload = cache.GetOrCompile(Key(), () => [1, 2, 3], out var first);
            cache.GetOrCompile(Key(), () => [4], out var second);
            Assert.That(payload, Is.EqualTo(new byte[] { 1, 2, 3 }));
            Assert.That((first, second), Is.EqualTo((KernelCacheOutcome.Compiled, KernelCacheOutcome.LoadedFromMemory)));
        }
        finally
        {
            File.Delete(_directory);
        }
    }

    [Test]
    public void DirectoryComesFromTheEnvironment()
    {
        string? saved = Environment.GetEnvironmentVariable(CudaKernelCache.DirectoryVariable);
        try
        {
            Environment.SetEnvironmentVariable(CudaKernelCache.DirectoryVariable, _directory);
            Assert.That(CudaKernelCache.DefaultDirectory(), Is.EqualTo(Path.GetFullPath(_directory)));
            Environment.SetEnvironmentVariable(CudaKernelCache.DirectoryVariable, null);
            Assert.That(CudaKernelCache.DefaultDirectory(), Does.EndWith(Path.Combine("ganengine", "kernels")));
        }
        finally
        {
            Environment.SetEnvironmentVariable(CudaKernelCache.DirectoryVariable, saved);
        }
    }

    [Test]
    public void KeysMustBeHex()
    {
        var cache = new CudaKernelCache(_directory, new KernelCompileStatistics());
        Assert.Throws<ArgumentException>(() => cache.PathFor("../etc/passwd"));
    }
}
