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
    /// <c>destination[destinationIndex]</c>, asynchronously on CUDA.</summary>
    public static void Float(SharedView<float> destination, int destinationIndex, ReadOnlyView<float> source, int sourceIndex, bool valid) =>
        destination[destinationIndex] = valid ? source[sourceIndex] : 0f;

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
