using System.IO.Pipelines;
using System.Text;
using Berth.Node.Kubelet.Logs;

namespace Berth.Node.Tests.Kubelet.Logs;

public sealed class ContainerLogReaderTests : IDisposable
{
    private const string Log =
        "2024-01-01T00:00:01Z stdout F one\n" +
        "2024-01-01T00:00:02Z stderr F two\n" +
        "2024-01-01T00:00:03.5Z stdout P thr\n" +
        "2024-01-01T00:00:03.6Z stdout F ee\n" +
        "2024-01-01T00:00:04Z stdout F four\n";

    private static readonly DateTimeOffset s_t0 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-logs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, LogOptions, string> Reads => new()
    {
        { "all", new LogOptions(), "one\ntwo\nthree\nfour\n" },
        { "tail 0", new LogOptions(TailLines: 0), "" },
        { "tail 1", new LogOptions(TailLines: 1), "four\n" },
        { "tail 2 counts a rejoined line once", new LogOptions(TailLines: 2), "three\nfour\n" },
        { "tail 3", new LogOptions(TailLines: 3), "two\nthree\nfour\n" },
        { "tail beyond the start", new LogOptions(TailLines: 10), "one\ntwo\nthree\nfour\n" },
        {
            "timestamps, RFC3339NanoFixed, once per rejoined line", new LogOptions(Timestamps: true),
            "2024-01-01T00:00:01.000000000Z one\n2024-01-01T00:00:02.000000000Z two\n" +
            "2024-01-01T00:00:03.500000000Z three\n2024-01-01T00:00:04.000000000Z four\n"
        },
        { "since includes an equal timestamp", new LogOptions(SinceTime: s_t0.AddSeconds(2)), "two\nthree\nfour\n" },
        { "since judges a rejoined line by its first part", new LogOptions(SinceTime: s_t0.AddSeconds(3.55)), "four\n" },
        { "since after everything", new LogOptions(SinceTime: s_t0.AddSeconds(5)), "" },
        { "limitBytes cuts mid-line", new LogOptions(LimitBytes: 6), "one\ntw" },
        { "limitBytes 0", new LogOptions(LimitBytes: 0), "" },
        { "limitBytes beyond the end", new LogOptions(LimitBytes: 1000), "one\ntwo\nthree\nfour\n" },
        { "limitBytes counts the timestamp", new LogOptions(TailLines: 2, Timestamps: true, LimitBytes: 40), "2024-01-01T00:00:03.500000000Z three\n202" },
        { "tail then since", new LogOptions(TailLines: 3, SinceTime: s_t0.AddSeconds(3)), "three\nfour\n" },
    };

    [Theory]
    [MemberData(nameof(Reads))]
    public async Task ReadAsync_Options_WritesContent(string name, LogOptions options, string expected)
    {
        var path = Path.Combine(_dir, "0.log");
        await File.WriteAllTextAsync(path, Log);
        Assert.True(expected == await ContainerLogWriterTests.ReadAllAsync(path, options), name);
    }

    [Fact]
    public async Task ReadAsync_MalformedLineAndUnterminatedEnd_SkipsOneKeepsOther()
    {
        var path = Path.Combine(_dir, "0.log");
        await File.WriteAllTextAsync(path, "2024-01-01T00:00:01Z stdout F one\ngarbage\n2024-01-01T00:00:02Z stdout F two");
        // Upstream skips what it cannot parse and still parses a last line that has no newline.
        Assert.Equal("one\ntwo", await ContainerLogWriterTests.ReadAllAsync(path));
    }

    public static TheoryData<long?, string> RotatedReads => new()
    {
        { null, "l1\nl2\nl3 joined\nl4\nl5\nl6\n" },
        { 1, "l6\n" },
        { 2, "l5\nl6\n" },
        { 3, "l4\nl5\nl6\n" },
        { 4, "l3 joined\nl4\nl5\nl6\n" },
        { 5, "l2\nl3 joined\nl4\nl5\nl6\n" },
        { 9, "l1\nl2\nl3 joined\nl4\nl5\nl6\n" },
    };

    [Theory]
    [MemberData(nameof(RotatedReads))]
    public async Task ReadAsync_RotatedPredecessors_ReadOldestFirstAndTailAcrossFiles(long? tail, string expected)
    {
        var path = Path.Combine(_dir, "0.log");
        // Listed out of order on purpose: the order comes from the names (".10" after ".9"), not the directory.
        await File.WriteAllTextAsync(path + ".20240101-000002.10", "2024-01-01T00:00:02Z stdout P l3 \n");
        await File.WriteAllTextAsync(path + ".20240101-000002.9", "2024-01-01T00:00:02Z stdout F l2\n");
        await File.WriteAllTextAsync(path + ".20240101-000001", "2024-01-01T00:00:01Z stdout F l1\n");
        await File.WriteAllTextAsync(path, "2024-01-01T00:00:03Z stdout F joined\n2024-01-01T00:00:03Z stdout F l4\n" +
            "2024-01-01T00:00:04Z stdout F l5\n2024-01-01T00:00:05Z stdout F l6\n");
        // Not rotated logs of this container: another restart's file and a foreign suffix.
        await File.WriteAllTextAsync(Path.Combine(_dir, "1.log"), "2024-01-01T00:00:09Z stdout F other\n");
        await File.WriteAllTextAsync(path + ".bak", "2024-01-01T00:00:09Z stdout F other\n");

        Assert.Equal(expected, await ContainerLogWriterTests.ReadAllAsync(path, new LogOptions(TailLines: tail)));
    }

    // A file several read blocks long, with 20 KiB lines (a P and an F record each) sprinkled in, so record
    // starts and headers fall across the backward scan's 64 KiB blocks.
    [Theory]
    [InlineData(1)]
    [InlineData(1700)]
    [InlineData(4999)]
    [InlineData(5000)]
    [InlineData(6000)]
    public async Task ReadAsync_TailOfLargeFile_CountsLinesAcrossBlocks(long tail)
    {
        var path = Path.Combine(_dir, "0.log");
        var lines = Enumerable.Range(0, 5000).Select(i => i % 97 == 0 ? $"long-{i:D4}-" + new string('x', 20_000) : $"line-{i:D4}").ToList();
        await using (var writer = new ContainerLogWriter(path, maxSize: long.MaxValue))
        {
            await writer.PumpAsync(new MemoryStream(Encoding.ASCII.GetBytes(string.Concat(lines.Select(l => l + "\n")))), LogStream.Stdout, default);
        }
        var expected = string.Concat(lines.Skip((int)Math.Max(0, 5000 - tail)).Select(l => l + "\n"));
        Assert.Equal(expected, await ContainerLogWriterTests.ReadAllAsync(path, new LogOptions(TailLines: tail)));
    }

    [Fact]
    public async Task ReadAsync_Missing_ThrowsFileNotFound()
    {
        var path = Path.Combine(_dir, "nope", "0.log");
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => ContainerLogWriterTests.ReadAllAsync(path));
        Assert.Equal($"failed to open log file \"{path}\"", e.Message);
    }

    [Fact]
    public async Task ReadAsync_FollowLiveWriter_SeesNewLinesUntilStopped()
    {
        var path = Path.Combine(_dir, "0.log");
        var source = new Pipe();
        var running = 1;
        await using var writer = new ContainerLogWriter(path);
        var pump = writer.PumpAsync(source.Reader.AsStream(), LogStream.Stdout, default);
        await source.Writer.WriteAsync("before\n"u8.ToArray());

        var output = new Pipe();
        using var lines = new StreamReader(output.Reader.AsStream());
        var read = ContainerLogReader.ReadAsync(path, new LogOptions(Follow: true, TailLines: 1), output.Writer.AsStream(),
            () => Volatile.Read(ref running) == 1, default);

        Assert.Equal("before", await lines.ReadLineAsync().WaitAsync(s_wait));
        foreach (var text in new[] { "after 1", "after 2" })
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            await source.Writer.WriteAsync(Encoding.ASCII.GetBytes(text + "\n"));
            Assert.Equal(text, await lines.ReadLineAsync().WaitAsync(s_wait));
            // A follower sees a line promptly (50 ms polls); generous for a loaded machine.
            Assert.True(watch.ElapsedMilliseconds < 2000, $"{watch.ElapsedMilliseconds} ms");
        }
        await Task.Delay(200);
        Assert.False(read.IsCompleted);

        // The container ends: its last output is still delivered, then the follow ends.
        await source.Writer.WriteAsync("last words"u8.ToArray());
        await source.Writer.CompleteAsync();
        await pump;
        Volatile.Write(ref running, 0);
        await read.WaitAsync(s_wait);
        await output.Writer.CompleteAsync();
        Assert.Equal("last words", await lines.ReadToEndAsync());
    }

    [Fact]
    public async Task ReadAsync_FollowCancelled_Throws()
    {
        var path = Path.Combine(_dir, "0.log");
        await File.WriteAllTextAsync(path, Log);
        using var cts = new CancellationTokenSource();
        var output = new MemoryStream();
        var read = ContainerLogReader.ReadAsync(path, new LogOptions(Follow: true), output, () => true, cts.Token);
        await Task.Delay(100);
        Assert.False(read.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(s_wait));
        Assert.Equal("one\ntwo\nthree\nfour\n", Encoding.UTF8.GetString(output.ToArray()));
    }

    [Fact]
    public async Task ReadAsync_FollowAcrossRotations_LosesAndRepeatsNothing()
    {
        var path = Path.Combine(_dir, "0.log");
        var source = new Pipe();
        var running = 1;
        await using var writer = new ContainerLogWriter(path, maxSize: 200, maxFiles: 100);
        var pump = writer.PumpAsync(source.Reader.AsStream(), LogStream.Stdout, default);
        var output = new Pipe();
        using var lines = new StreamReader(output.Reader.AsStream());
        var read = ContainerLogReader.ReadAsync(path, new LogOptions(Follow: true), output.Writer.AsStream(),
            () => Volatile.Read(ref running) == 1, default);

        // In step first (each rotation happens while the follower waits at the end), then in a burst (several
        // rotations between two polls).
        for (var i = 0; i < 20; i++)
        {
            await source.Writer.WriteAsync(Encoding.ASCII.GetBytes($"line-{i:D3}\n"));
            Assert.Equal($"line-{i:D3}", await lines.ReadLineAsync().WaitAsync(s_wait));
        }
        for (var i = 20; i < 80; i++)
        {
            await source.Writer.WriteAsync(Encoding.ASCII.GetBytes($"line-{i:D3}\n"));
            await Task.Delay(1);
        }
        await source.Writer.CompleteAsync();
        await pump;
        Volatile.Write(ref running, 0);
        await read.WaitAsync(s_wait);
        await output.Writer.CompleteAsync();

        Assert.Equal(Enumerable.Range(20, 60).Select(i => $"line-{i:D3}"), (await lines.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(Directory.GetFiles(_dir).Length > 10, "the log rotated many times");
    }
}
