using BenchmarkDotNet.Running;
using Berth.Benchmarks;
using Berth.Benchmarks.EndToEnd;

// `e2e` runs the end-to-end suite against the real binary, `pods` the node agent's pod startup suite,
// `controllers` the controllers suite, `endpoints` the endpoint controllers suite, `proxy` the service proxy suite,
// `dns-programming` the cluster DNS's programming latency (bench/dns/run.sh runs it); anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "e2e")
{
    return await EndToEndSuite.RunAsync(args[1..]).ConfigureAwait(false);
}
if (args.Length > 0 && args[0] == "pods")
{
    return await PodStartupSuite.RunAsync(args[1..]).ConfigureAwait(false);
}
if (args.Length > 0 && args[0] == "controllers")
{
    return await ControllerSuite.RunAsync(args[1..]).ConfigureAwait(false);
}
if (args.Length > 0 && args[0] == "endpoints")
{
    return await EndpointSuite.RunAsync(args[1..]).ConfigureAwait(false);
}
if (args.Length > 0 && args[0] == "proxy")
{
    return await ProxySuite.RunAsync(args[1..]).ConfigureAwait(false);
}
if (args.Length > 0 && args[0] == "dns-programming")
{
    return await DnsProgrammingSuite.RunAsync(args[1..]).ConfigureAwait(false);
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
