using System.Net;

namespace Berth.ApiServer;

public sealed class ApiServerOptions
{
    /// <summary>Where the store, PKI, token and kubeconfig live.</summary>
    public string DataDir { get; set; } = ".berth";

    /// <summary>HTTPS port; 0 picks a free one (tests).</summary>
    public int Port { get; set; } = 6443;

    /// <summary>Loopback by default: nothing outside this machine can reach the API unless asked for.</summary>
    public IPAddress BindAddress { get; set; } = IPAddress.Loopback;

    /// <summary>"sqlite" (embedded, the default).</summary>
    public string Datastore { get; set; } = "sqlite";

    public string StorePath => Path.Combine(DataDir, "state.db");

    public string KubeconfigPath => Path.Combine(DataDir, "kubeconfig");
}
