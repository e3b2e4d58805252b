using System.Net;
using BenchmarkDotNet.Attributes;
using Berth.ApiServer.Allocation;

namespace Berth.Benchmarks;

/// <summary>
/// Picking a free cluster IP from the default /16 service CIDR, empty and nearly full (the scan for a free bit is
/// the only part that grows with the number of Services), against taking an address that is asked for by name.
/// Each operation allocates and releases, so the range stays in the same state.
/// </summary>
[MemoryDiagnoser]
public class AllocationBenchmarks
{
    private static readonly IPRange s_range = IPRange.Parse("127.96.0.0/16");
    private static readonly IPAddress s_requested = IPAddress.Parse("127.96.200.7");

    private IPRangeAllocator _empty = null!;
    private IPRangeAllocator _nearlyFull = null!;

    [GlobalSetup]
    public void Setup()
    {
        _empty = new IPRangeAllocator(s_range, new Random(1));
        _nearlyFull = new IPRangeAllocator(s_range, new Random(1));
        // Leave 16 free addresses scattered through the upper band.
        for (var i = 0; i < s_range.Size; i++)
        {
            if (i % 4096 != 100)
            {
                _nearlyFull.Allocate(s_range.AddressAt(i));
            }
        }
    }

    [Benchmark(Baseline = true)]
    public void AllocateRequested()
    {
        _empty.Allocate(s_requested);
        _empty.Release(s_requested);
    }

    [Benchmark]
    public void AllocateNextEmpty() => _empty.Release(_empty.AllocateNext());

    [Benchmark]
    public void AllocateNextNearlyFull() => _nearlyFull.Release(_nearlyFull.AllocateNext());
}
