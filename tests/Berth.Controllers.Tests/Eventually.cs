using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.Tests;

/// <summary>
/// Waiting for what controllers and informers do on their own threads: every controller harness polls the same way,
/// so a slow machine gets one generous deadline and a failure says what never happened.
/// </summary>
internal static class Eventually
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(20);

    public static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(s_poll);
        }
    }

    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(s_poll);
        }
    }

    /// <summary>Waits until the informer's cache holds this version of <paramref name="obj"/> (a sync reads only the cache).</summary>
    public static Task CachedAsync<T>(Informer<T> informer, T obj)
        where T : class, IKubernetesObject =>
        UntilAsync(() => informer.Get(obj.Metadata!.Namespace, obj.Metadata.Name!)?.Metadata?.ResourceVersion == obj.Metadata.ResourceVersion,
            $"the cache to show {typeof(T).Name} {obj.Metadata!.Name} at {obj.Metadata.ResourceVersion}");

    /// <summary>Starts the informers and waits until their first lists are in the caches.</summary>
    public static async Task SyncedAsync(SharedInformers informers)
    {
        await informers.StartAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(Wait);
        await informers.WaitForSyncAsync(timeout.Token);
    }
}
