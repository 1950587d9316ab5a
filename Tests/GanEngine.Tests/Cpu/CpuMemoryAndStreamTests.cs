using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using NUnit.Framework;

namespace GanEngine.Tests.Cpu;

/// <summary>Memory, copies, streams and events of the CPU accelerator.</summary>
[TestFixture]
public sealed class CpuMemoryAndStreamTests
{
    [Test]
    public void CopiesRoundTripWithOffsets()
    {
        var random = new Random(TestContext.CurrentContext.Random.Next());
        var data = Enumerable.Range(0, 1000).Select(_ => random.NextDouble() + 0.5).ToArray();
        using var accelerator = new CpuAccelerator();
        using var a = accelerator.Allocate<double>(data);
        using var b = accelerator.Allocate<double>(1000);
        var stream = accelerator.DefaultStream;
        stream.FillBytes(b.View, 0);
        stream.Copy(a.ReadOnly.Slice(100, 300), b.View.Slice(600, 300));
        var result = b.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(result.AsSpan(0, 600).ToArray(), Is.All.EqualTo(0.0));
            Assert.That(result.AsSpan(600, 300).ToArray(), Is.EqualTo(data.AsSpan(100, 300).ToArray()));
            Assert.That(result.AsSpan(900).ToArray(), Is.All.EqualTo(0.0));
        });

        var part = new double[50];
        stream.CopyToHost(a.ReadOnly.Slice(950, 50), part);
        Assert.That(part, Is.EqualTo(data.AsSpan(950).ToArray()));

        stream.FillBytes(a.View.Slice(10, 5), 0xFF);
        Assert.That(a.ToArray().Skip(10).Take(5).Select(BitConverter.DoubleToUInt64Bits), Is.All.EqualTo(ulong.MaxValue));
        Assert.That(a.ToArray()[15], Is.EqualTo(data[15]));
    }

    [Test]
    public void PinnedAsyncCopiesAndEvents()
    {
        var random = new Random(TestContext.CurrentContext.Random.Next());
        using var accelerator = new CpuAccelerator();
        using var stream = accelerator.CreateStream();
        using var pinnedIn = accelerator.AllocatePinned<int>(4096);
        using var pinnedOut = accelerator.AllocatePinned<int>(4096);
        for (int i = 0; i < pinnedIn.Length; i++)
        {
            pinnedIn.Span[i] = random.Next();
        }
        using var device = accelerator.Allocate<int>(4096);
        using var start = stream.RecordEvent();
        stream.CopyToDeviceAsync(pinnedIn, device.View);
        stream.CopyToHostAsync(device.ReadOnly, pinnedOut);
        using var end = stream.RecordEvent();
        accelerator.DefaultStream.WaitFor(end);
        end.Synchronize();
        Assert.Multiple(() =>
        {
            Assert.That(end.IsComplete, Is.True);
            Assert.That(pinnedOut.Span.ToArray(), Is.EqualTo(pinnedIn.Span.ToArray()));
            Assert.That(AcceleratorEvent.ElapsedMilliseconds(start, end), Is.GreaterThanOrEqualTo(0f).And.LessThan(10_000f));
        });
        stream.Synchronize();
        accelerator.Synchronize();
    }

    [Test]
    public void DeviceMemoryIsAlignedAndZeroLengthWorks()
    {
        using var accelerator = new CpuAccelerator();
        using var empty = accelerator.Allocate<float>(0);
        Assert.That(empty.ToArray(), Is.Empty);
        for (int i = 1; i < 10; i++)
        {
            using var buffer = accelerator.Allocate<byte>(i * 7);
            Assert.That((long)buffer.View.Handle % 64, Is.EqualTo(0L));
        }
    }

    [Test]
    public void DisposedStreamRejectsWork()
    {
        using var accelerator = new CpuAccelerator();
        var stream = accelerator.CreateStream();
        stream.Dispose();
        Assert.Throws<ObjectDisposedException>(() => stream.RecordEvent());
        // The default stream survives a Dispose call from user code.
        accelerator.DefaultStream.Dispose();
        using var buffer = accelerator.Allocate<int>([1, 2, 3]);
        Assert.That(buffer.ToArray(), Is.EqualTo(new[] { 1, 2, 3 }));
    }
}
