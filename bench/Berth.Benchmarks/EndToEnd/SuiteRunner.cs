using System.Runtime.InteropServices;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// What every end-to-end suite does around its run: a time budget, Ctrl+C / SIGTERM stopping it cleanly (the suite's
/// DisposeAsync ends its processes), the report printed and optionally written to a file, and exit codes 0 / 1 / 130.
/// </summary>
internal static class SuiteRunner
{
    public static async Task<int> RunAsync<TSuite>(string name, TimeSpan budget, string? outPath,
        Func<CancellationToken, TSuite> create, Func<TSuite, Task<string>> run, Func<TSuite, Exception, Task> reportFailure)
        where TSuite : IAsyncDisposable
    {
        using var cts = new CancellationTokenSource(budget);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            cts.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        await using var suite = create(cts.Token);
        try
        {
            var markdown = await run(suite).ConfigureAwait(false);
            Console.Write(markdown);
            if (outPath is not null)
            {
                await File.WriteAllTextAsync(outPath, markdown, CancellationToken.None).ConfigureAwait(false);
            }
            return 0;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"{name}: stopped (budget of {budget.TotalMinutes:0.#} min or a signal)").ConfigureAwait(false);
            return 130;
        }
        catch (Exception e)
        {
            await reportFailure(suite, e).ConfigureAwait(false);
            return 1;
        }
    }
}
