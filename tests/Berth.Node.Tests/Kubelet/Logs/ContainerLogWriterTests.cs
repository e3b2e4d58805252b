using System.IO.Pipelines;
using System.Text;
using System.Text.RegularExpressions;
using Berth.Node.Kubelet.Logs;

namespace Berth.Node.Tests.Kubelet.Logs;

public sealed class ContainerLogWriterTests : IDisposable
{
    private static readonly DateTimeOffset s_t0 = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1234567);
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-logs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task PumpAsync_Lines_WritesCriRecordsWithUtcTimestamps()
    {
        var path = Path.Combine(_dir, "c", "0.log");
        await using (var writer = new ContainerLogWriter(path, time: new ManualTime(s_t0)))
        {
            await writer.PumpAsync(new MemoryStream("a\nbb\n\nc"u8.ToArray()), LogStream.Stdout, default);
            await writer.PumpAsync(new MemoryStream("e\n"u8.ToArray()), LogStream.Stderr, default);
        }
        // A last line without a newline is a P record, as containerd writes it, so no newline is invented on read.
        Assert.Equal(
            "2024-01-02T03:04:05.1234567Z stdout F a\n" +
            "2024-01-02T03:04:05.1234567Z stdout F bb\n" +
            "2024-01-02T03:04:05.1234567Z stdout F \n" +
            "2024-01-02T03:04:05.1234567Z stdout P c\n" +
            "2024-01-02T03:04:05.1234567Z stderr F e\n",
            await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task PumpAsync_ExistingFile_Appends()
    {
        var path = Path.Combine(_dir, "0.log");
        await File.WriteAllTextAsync(path, "2024-01-01T00:00:00Z stdout F old\n");
        await using (var writer = new ContainerLogWriter(path, time: new ManualTime(s_t0)))
        {
            await writer.PumpAsync(new MemoryStream("new\n"u8.ToArray()), LogStream.Stdout, default);
        }
        Assert.Equal("old\nnew\n", await ReadAllAsync(path));
    }

    public static TheoryData<int, string> LongLines => new()
    {
        { 16383, "F16383" },
        { 16384, "F16384" },
        { 16385, "P16384 F1" },
        { 32768, "P16384 F16384" },
        { 40000, "P16384 P16384 F7232" },
    };

    // containerd's redirectLogs: a line longer than 16 KiB leaves in 16 KiB P records, the rest in an F record.
    [Theory]
    [MemberData(nameof(LongLines))]
    public async Task PumpAsync_LongLine_SplitsIntoPartials(int length, string expected)
    {
        var path = Path.Combine(_dir, "0.log");
        var line = new string('x', length - 1) + "y";
        // Fed in 1000-byte reads so the split does not depend on how the source delivers the line.
        var bytes = Encoding.ASCII.GetBytes(line + "\n");
        await using (var writer = new ContainerLogWriter(path, time: new ManualTime(s_t0)))
        {
            await writer.PumpAsync(new ChunkStream(bytes.Chunk(1000)), LogStream.Stdout, default);
        }
        var records = (await File.ReadAllLinesAsync(path)).Select(r => r.Split(' ', 4)).ToList();
        Assert.Equal(expected, string.Join(' ', records.Select(r => r[2] + r[3].Length)));
        Assert.Equal(line + "\n", await ReadAllAsync(path));
    }

    [Fact]
    public async Task PumpAsync_StdoutAndStderrTogether_KeepsLinesWholeAndInOrder()
    {
        var path = Path.Combine(_dir, "0.log");
        const int Lines = 300;
        var stdout = new Pipe();
        var stderr = new Pipe();
        await using (var writer = new ContainerLogWriter(path))
        {
            var pumps = Task.WhenAll(
                writer.PumpAsync(stdout.Reader.AsStream(), LogStream.Stdout, default),
                writer.PumpAsync(stderr.Reader.AsStream(), LogStream.Stderr, default));
            await Task.WhenAll(Produce(stdout.Writer, "out"), Produce(stderr.Writer, "err"));
            await pumps;
        }

        var seen = new Dictionary<string, int> { ["stdout"] = 0, ["stderr"] = 0 };
        foreach (var record in await File.ReadAllLinesAsync(path))
        {
            var m = Regex.Match(record, @"^\S+ (stdout|stderr) F (out|err)-(\d{4})-x{80}$");
            Assert.True(m.Success, record);
            Assert.True(DateTimeOffset.TryParse(record.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture, out _));
            Assert.Equal(m.Groups[1].Value == "stdout" ? "out" : "err", m.Groups[2].Value);
            Assert.Equal(seen[m.Groups[1].Value]++, int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.Equal(Lines, seen["stdout"]);
        Assert.Equal(Lines, seen["stderr"]);

        static async Task Produce(PipeWriter pipe, string name)
        {
            var text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, Lines).Select(i => $"{name}-{i:D4}-{new string('x', 80)}\n")));
            // Odd-sized writes so lines straddle reads and both streams interleave mid-line.
            foreach (var piece in text.Chunk(37))
            {
                await pipe.WriteAsync(piece);
            }
            await pipe.CompleteAsync();
        }
    }

    [Fact]
    public async Task Rotation_AtMaxSize_KeepsMaxFilesNewestInOrder()
    {
        var path = Path.Combine(_dir, "0.log");
        var time = new ManualTime(s_t0);
        await using (var writer = new ContainerLogWriter(path, maxSize: 300, maxFiles: 3, time))
        {
            await writer.PumpAsync(new ChunkStream(Numbered(100, time)), LogStream.Stdout, default);
        }

        var files = Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(3, files.Count);
        Assert.Equal("0.log", files[0]);
        Assert.All(files.Skip(1), f => Assert.Matches(@"^0\.log\.20240102-\d{6}$", f));
        Assert.All(files.Skip(1), f => Assert.True(new FileInfo(Path.Combine(_dir, f!)).Length >= 300));

        var lines = (await ReadAllAsync(path)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var first = int.Parse(lines[0]["line-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(first > 0, "the oldest files were pruned");
        Assert.Equal(Enumerable.Range(first, 100 - first).Select(i => $"line-{i:D3}"), lines);
    }

    [Fact]
    public async Task Rotation_SameSecond_AddsCounterAndReadsInOrder()
    {
        var path = Path.Combine(_dir, "0.log");
        await using (var writer = new ContainerLogWriter(path, maxSize: 100, maxFiles: 30, new ManualTime(s_t0)))
        {
            await writer.PumpAsync(new ChunkStream(Numbered(40, time: null)), LogStream.Stdout, default);
        }

        var rotated = Directory.GetFiles(_dir).Select(Path.GetFileName).Where(f => f != "0.log").Order(StringComparer.Ordinal);
        // 40 records of 47 bytes rotate every 3 records: 13 rotations, all stamped 03:04:05.
        string[] expected = ["0.log.20240102-030405", .. Enumerable.Range(1, 12).Select(i => $"0.log.20240102-030405.{i}")];
        Assert.Equal(expected.Order(StringComparer.Ordinal), rotated);
        Assert.Equal(string.Concat(Enumerable.Range(0, 40).Select(i => $"line-{i:D3}\n")), await ReadAllAsync(path));
    }

    [Fact]
    public async Task PumpAsync_AfterDispose_DrainsSourceWithoutWriting()
    {
        var path = Path.Combine(_dir, "0.log");
        var writer = new ContainerLogWriter(path);
        await writer.DisposeAsync();
        await writer.DisposeAsync();
        var source = new MemoryStream("dropped\n"u8.ToArray());
        await writer.PumpAsync(source, LogStream.Stdout, default);
        Assert.Equal(source.Length, source.Position);
        Assert.Equal(0, new FileInfo(path).Length);
    }

    private static IEnumerable<byte[]> Numbered(int count, ManualTime? time)
    {
        for (var i = 0; i < count; i++)
        {
            time?.Advance(TimeSpan.FromSeconds(1));
            yield return Encoding.ASCII.GetBytes($"line-{i:D3}\n");
        }
    }

    internal static async Task<string> ReadAllAsync(string path, LogOptions? options = null)
    {
        using var output = new MemoryStream();
        await ContainerLogReader.ReadAsync(path, options ?? new LogOptions(), output, () => false, default);
        return Encoding.UTF8.GetString(output.ToArray());
    }
}
