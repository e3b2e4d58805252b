using Berth.Api.Models;
using Berth.Client;

namespace Berth.Controllers.Framework;

/// <summary>
/// One informer per kind, shared by every controller of the process (client-go's SharedInformerFactory): each
/// kind is listed and watched once, however many controllers look at it.
/// </summary>
public sealed class SharedInformers : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Type, IInformer> _informers = [];
    private readonly Action<string>? _log;
    private readonly TimeSpan _resync;
    private bool _started;

    /// <param name="resync">Every informer's resync period (0 = none).</param>
    public SharedInformers(KubeClient client, Action<string>? log = null, TimeSpan resync = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        Client = client;
        _log = log;
        _resync = resync;
    }

    public KubeClient Client { get; }

    /// <summary>The informer for <typeparamref name="T"/>, created on first call; new kinds only before StartAsync.</summary>
    public Informer<T> For<T>()
        where T : class, IKubernetesObject
    {
        lock (_lock)
        {
            if (_informers.TryGetValue(typeof(T), out var existing))
            {
                return ((Adapter<T>)existing).Informer;
            }
            if (_started)
            {
                throw new InvalidOperationException($"the {typeof(T).Name} informer must be requested before StartAsync");
            }
            var informer = new Informer<T>(Client, log: _log) { ResyncPeriod = _resync };
            _informers.Add(typeof(T), new Adapter<T>(informer));
            return informer;
        }
    }

    /// <summary>Starts every informer (all are requested before this); returns at once. Later calls do nothing.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        IInformer[] all;
        lock (_lock)
        {
            if (_started)
            {
                return;
            }
            _started = true;
            all = [.. _informers.Values];
        }
        foreach (var informer in all)
        {
            await informer.StartAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Completes once every started informer has synced.</summary>
    public Task WaitForSyncAsync(CancellationToken ct) => Task.WhenAll(Snapshot().Select(i => i.WaitForSyncAsync(ct)));

    public async ValueTask DisposeAsync()
    {
        foreach (var informer in Snapshot())
        {
            await informer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private IInformer[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _informers.Values];
        }
    }

    private interface IInformer : IAsyncDisposable
    {
        Task StartAsync(CancellationToken ct);

        Task WaitForSyncAsync(CancellationToken ct);
    }

    private sealed class Adapter<T>(Informer<T> informer) : IInformer
        where T : class, IKubernetesObject
    {
        public Informer<T> Informer { get; } = informer;

        public Task StartAsync(CancellationToken ct) => Informer.StartAsync(ct);

        public Task WaitForSyncAsync(CancellationToken ct) => Informer.WaitForSyncAsync(ct);

        public ValueTask DisposeAsync() => Informer.DisposeAsync();
    }
}
