using System.Runtime.ExceptionServices;
using GanEngine.Kernels;

namespace GanEngine.Accelerators.Cpu;

/// <summary>
/// Spreads the blocks of a launch over worker threads. Workers take chunks of consecutive block
/// indices from a shared counter (dynamic load balancing, one atomic per chunk); each works with a
/// <see cref="CpuGroupRunner"/> rented from a pool, so no per-block or per-thread objects are made
/// (except the iterators of group-synchronous kernels, which are per thread and block by nature).
/// With one worker (deterministic mode) the blocks run in order on the calling thread.
/// </summary>
internal sealed class CpuKernelScheduler : IDisposable
{
    /// <summary>Kernel threads per extra worker: launches smaller than this (in total) stay on the
    /// calling thread, where waking pool threads would cost more than the work.</summary>
    internal const long ThreadsPerWorker = 2048;

    private readonly int _workers;
    private readonly ParallelOptions _parallelOptions;
    private readonly Stack<CpuGroupRunner> _pool = new();
    private bool _disposed;

    public CpuKernelScheduler(int workers)
    {
        _workers = Math.Max(1, workers);
        _parallelOptions = new ParallelOptions { MaxDegreeOfParallelism = _workers };
    }

    public int Workers => _workers;

    /// <summary>Runs every block of the launch; returns when all are done. Exceptions from kernel code
    /// surface as <see cref="KernelExecutionException"/> (the first one seen; other workers stop taking blocks).</summary>
    public void Run(KernelDefinition kernel, in LaunchConfig config, CpuKernelBody body)
    {
        long blocks = config.Grid.Product;
        var job = new Job(this, kernel, config, body);
        long threads = blocks * config.Block.Product;
        int workers = (int)Math.Min(Math.Min(_workers, blocks), Math.Max(1, threads / ThreadsPerWorker));
        if (workers <= 1)
        {
            job.Work(0);
        }
        else
        {
            job.Chunk = Math.Clamp(blocks / (workers * 16L), 1, 64);
            Parallel.For(0, workers, _parallelOptions, job.Work);
        }
        job.Failure?.Throw();
    }

    private CpuGroupRunner Rent()
    {
        lock (_pool)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_pool.Count > 0)
            {
                return _pool.Pop();
            }
        }
        return new CpuGroupRunner();
    }

    private void Return(CpuGroupRunner runner)
    {
        lock (_pool)
        {
            if (!_disposed)
            {
                _pool.Push(runner);
                return;
            }
        }
        runner.Dispose();
    }

    public void Dispose()
    {
        lock (_pool)
        {
            _disposed = true;
            while (_pool.Count > 0)
            {
                _pool.Pop().Dispose();
            }
        }
    }

    /// <summary>One launch in flight: the block counter and the first failure.</summary>
    private sealed class Job(CpuKernelScheduler scheduler, KernelDefinition kernel, LaunchConfig config, CpuKernelBody body)
    {
        private readonly long _blocks = config.Grid.Product;
        private long _next;
        private int _failed;

        public long Chunk = 1;

        public ExceptionDispatchInfo? Failure;

        public void Work(int worker)
        {
            var runner = scheduler.Rent();
            try
            {
                runner.Configure(config);
                var grid = config.Grid;
                var independent = body.Thread;
                var synchronous = body.SynchronousThread;
                if (independent is null && synchronous is null)
                {
                    throw new InvalidOperationException($"The CPU body of {kernel.Name} has neither an independent nor a synchronous entry.");
                }
                long chunk = Chunk;
                while (Volatile.Read(ref _failed) == 0)
                {
                    long start = Interlocked.Add(ref _next, chunk) - chunk;
                    if (start >= _blocks)
                    {
                        break;
                    }
                    long end = Math.Min(start + chunk, _blocks);
                    // Block index of `start`, x fastest; then stepped incrementally.
                    long xy = (long)grid.X * grid.Y;
                    int z = (int)(start / xy);
                    long rest = start - (z * xy);
                    int y = (int)(rest / grid.X);
                    int x = (int)(rest - ((long)y * grid.X));
                    for (long b = start; b < end; b++)
                    {
                        var blockIdx = new Dim3(x, y, z);
                        if (independent is not null)
                        {
                            runner.RunIndependent(kernel, independent, blockIdx);
                        }
                        else
                        {
                            runner.RunSynchronous(kernel, synchronous!, blockIdx);
                        }
                        if (++x == grid.X)
                        {
                            x = 0;
                            if (++y == grid.Y)
                            {
                                y = 0;
                                z++;
                            }
                        }
                    }
                }
            }
            catch (Exception e)
            {
                if (Interlocked.Exchange(ref _failed, 1) == 0)
                {
                    Failure = ExceptionDispatchInfo.Capture(e);
                }
            }
            finally
            {
                Kernels.Cpu.CpuThread.SetCurrent(null);
                scheduler.Return(runner);
            }
        }
    }
}
