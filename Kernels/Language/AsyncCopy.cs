namespace GanEngine.Kernels;

/// <summary>
/// Asynchronous copies from global into shared memory (<c>cp.async</c>, sm_80+), for multi-stage
/// pipelines: a thread issues copies, closes them into a group with <see cref="Commit"/>, and later
/// waits until at most N of its groups are still in flight with <see cref="Wait"/>. The copied data is
/// visible to the other threads of the block only after the wait and a <see cref="Group.Barrier"/>.
/// </summary>
/// <remarks>
/// On CUDA each copy is one <c>cp.async.ca.shared.global</c> of 4 bytes with zero fill: when
/// <c>valid</c> is false no global memory is read (the source index is not used) and the shared
/// element becomes 0, so masked implicit-GEMM gathers need no branch. The copy does not pass through
/// registers, so a pipeline of several stages costs no staging registers and no shared stores.
/// On OpenCL and on the CPU accelerator the copy happens at once (a load and a store); commit and
/// wait do nothing, which is one legal schedule of the asynchronous semantics. A kernel that reads a
/// stage before waiting for it is therefore only caught on CUDA: the GPU tests are what check the
/// pipeline's ordering.
/// </remarks>
public static class AsyncCopy
{
    /// <summary>Copies <c>source[sourceIndex]</c> (or 0 when <paramref name="valid"/> is false) to
    /// <c>destination[destinationIndex]</c>, asynchronously on CUDA. When <paramref name="valid"/> is false the source is not
    /// read, so <paramref name="sourceIndex"/> may lie outside the view: pass the unclamped index, which lets the CUDA compiler
    /// fold a copy's constant offset into the instruction.</summary>
    public static void Float(SharedView<float> destination, int destinationIndex, ReadOnlyView<float> source, int sourceIndex, bool valid) =>
        destination[destinationIndex] = valid ? source[sourceIndex] : 0f;

    /// <summary>As <see cref="Float(SharedView{float}, int, ReadOnlyView{float}, int, bool)"/> from
    /// <c>source[sourceBase + sourceOffset]</c>. Why a second form: CUDA forms the address as a pointer to
    /// <paramref name="sourceBase"/> plus <paramref name="sourceOffset"/>, so copies that share a base and differ by
    /// compile-time offsets cost one address computation and fold each offset into their instruction. Pass the thread's
    /// varying part as the base and a constant as the offset.</summary>
    public static void Float(SharedView<float> destination, int destinationIndex, ReadOnlyView<float> source, int sourceBase, int sourceOffset, bool valid) =>
        destination[destinationIndex] = valid ? source[sourceBase + sourceOffset] : 0f;

    /// <summary>Copies the four floats at <c>source[sourceBase + sourceOffset]</c> (or zeros when <paramref name="valid"/> is
    /// false) to <c>destination[destinationIndex]</c> and the three after it: one 16-byte <c>cp.async</c> on CUDA, a quarter of
    /// the requests of four <see cref="Float(SharedView{float}, int, ReadOnlyView{float}, int, int, bool)"/> copies. Both
    /// element positions must be multiples of 4 (16-byte aligned, counting the view's offset); the CPU accelerator checks it.</summary>
    public static void Float4(SharedView<float> destination, int destinationIndex, ReadOnlyView<float> source, int sourceBase, int sourceOffset, bool valid)
    {
        int index = sourceBase + sourceOffset;
        if ((destinationIndex & 3) != 0 || (valid && ((source.Offset + index) & 3) != 0))
        {
            throw new InvalidOperationException(
                $"AsyncCopy.Float4 needs 16-byte aligned elements: destination index {destinationIndex}, source element {source.Offset + index}.");
        }
        for (int i = 0; i < 4; i++)
        {
            destination[destinationIndex + i] = valid ? source[index + i] : 0f;
        }
    }

    /// <summary>Closes this thread's copies issued since the last commit into one group (<c>cp.async.commit_group</c>).</summary>
    public static void Commit()
    {
    }

    /// <summary>Waits until at most <paramref name="pendingGroups"/> of this thread's committed groups are still
    /// in flight (<c>cp.async.wait_group</c>; 0 waits for all). Pass a constant: CUDA needs an immediate, and
    /// values above 7 wait for all groups.</summary>
    public static void Wait(int pendingGroups)
    {
    }
}
