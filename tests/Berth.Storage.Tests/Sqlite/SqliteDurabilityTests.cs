using System.Diagnostics;
using System.Globalization;
using Berth.Storage.Sqlite;

namespace Berth.Storage.Tests.Sqlite;

/// <summary>Every write acknowledged before a SIGKILL is present after reopening.</summary>
public sealed class SqliteDurabilityTests : IDisposable
{
    private const int AcknowledgedBeforeKill = 300;
    private readonly TempDirectory _dir = new();
    private Process? _child;

    public void Dispose()
    {
        try
        {
            if (_child is { HasExited: false })
            {
                _child.Kill(entireProcessTree: true);
                _child.WaitForExit();
            }

            _child?.Dispose();
        }
        finally
        {
            _dir.Dispose();
        }
    }

    [Fact]
    public async Task OpenAsync_AfterWriterSigkilled_EveryAcknowledgedWriteIsPresent()
    {
        string writerDll = Path.Combine(AppContext.BaseDirectory, "Berth.Storage.CrashWriter.dll");
        Assert.True(File.Exists(writerDll), $"missing {writerDll}");
        ProcessStartInfo start = new("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(writerDll);
        start.ArgumentList.Add(_dir.Database);
        _child = Process.Start(start)!;
        _ = _child.StandardError.ReadToEndAsync();

        Dictionary<string, long> acknowledged = [];
        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(120));
        Assert.Equal("ready", await _child.StandardOutput.ReadLineAsync(cts.Token));
        while (acknowledged.Count < AcknowledgedBeforeKill)
        {
            string? line = await _child.StandardOutput.ReadLineAsync(cts.Token);
            Assert.NotNull(line);
            Add(acknowledged, line);
        }

        // Process.Kill is SIGKILL on Unix: no disposal, no flush, no checkpoint.
        _child.Kill(entireProcessTree: true);
        await _child.WaitForExitAsync(cts.Token);
        // Lines already written to the pipe were acknowledged before the kill too.
        while (await _child.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            // A line cut short by the kill has no terminator; its write may not be acknowledged to us.
            if (line.EndsWith(" ok", StringComparison.Ordinal))
            {
                Add(acknowledged, line);
            }
        }

        await using IStore store = await SqliteStore.OpenAsync(_dir.Database, new SqliteStoreOptions { CompactionInterval = null });
        foreach ((string key, long revision) in acknowledged)
        {
            StoreItem? item = await store.GetAsync(key);
            Assert.True(item is not null, $"acknowledged write {key}@{revision} lost");
            Assert.Equal(revision, item.ModRevision);
            Assert.Equal(key, System.Text.Encoding.UTF8.GetString(item.Value.Span));
        }

        long maxAcknowledged = acknowledged.Values.Max();
        Assert.True(store.CurrentRevision >= maxAcknowledged);
        Assert.Equal(store.CurrentRevision + 1, await store.CreateAsync("/after-crash", [1]));
        Assert.Equal(acknowledged.Count, acknowledged.Values.Distinct().Count());
    }

    private static void Add(Dictionary<string, long> acknowledged, string line)
    {
        string[] parts = line.Split(' ');
        Assert.Equal(3, parts.Length);
        acknowledged.Add(parts[1], long.Parse(parts[0], CultureInfo.InvariantCulture));
    }
}
