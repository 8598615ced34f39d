// The headless CLI as scripts use it: one JSON document on stdout per command, errors on stderr
// with exit status 2, determinism across thread counts.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fulldisk.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <spawn.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>

using json = nlohmann::json;

namespace {

struct Result {
    int status = -1;
    std::string out, err;
};

Result cli(const std::string& args) {
    static int counter = 0;
    const auto errPath = std::filesystem::temp_directory_path() /
                         ("initscope-cli-test-" + std::to_string(::getpid()) + "-" +
                          std::to_string(counter++) + ".err");
    const std::string cmd = std::string(INITSCOPE_CLI) + " " + args + " 2>" + errPath.string();
    Result r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p)
        return r;
    std::array<char, 65536> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
        r.out.append(buf.data(), n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::ifstream e(errPath);
    r.err.assign(std::istreambuf_iterator<char>(e), {});
    std::filesystem::remove(errPath);
    return r;
}

json okJson(const std::string& args) {
    const Result r = cli(args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    try {
        return json::parse(r.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << args << ": stdout is not one JSON document: " << e.what() << "\n" << r.out;
        return {};
    }
}

void expectError(const std::string& args, const std::string& fragment) {
    const Result r = cli(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_TRUE(r.out.empty()) << args << ": errors print nothing on stdout";
    EXPECT_NE(r.err.find(fragment), std::string::npos)
        << args << ": expected '" << fragment << "' in:\n"
        << r.err;
}

} // namespace

TEST(Cli, TheoryShape) {
    const json j = okJson("theory --activation tanh --sigma-w2 1.5 --sigma-b2 0.05 --depth 12");
    for (const char* k : {"q_star", "chi1", "xi_q", "xi_c", "c_star", "phase", "q", "c"})
        EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j["q"].size(), 12u);
    EXPECT_EQ(j["c"].size(), 12u);
    EXPECT_EQ(j["phase"], "ordered"); // tanh at sigma_b^2 = 0.05 is critical near 1.76
    // ReLU closed form: chi1 = sigma_w^2 / 2
    const json r = okJson("theory --activation relu --sigma-w2 3 --sigma-b2 0");
    EXPECT_NEAR(r["chi1"].get<double>(), 1.5, 1e-9);
    EXPECT_EQ(r["phase"], "chaotic");
}

TEST(Cli, CriticalShape) {
    const json j = okJson("critical --activation tanh --sigma-b2 0");
    EXPECT_NEAR(j["sigma_w2"].get<double>(), 1.0, 1e-6);
    EXPECT_TRUE(j.contains("q_star"));
    const json r = okJson("critical --activation relu --sigma-b2 0");
    EXPECT_NEAR(r["sigma_w2"].get<double>(), 2.0, 1e-6);
}

TEST(Cli, RunShape) {
    const json j = okJson("run --depth 6 --width 64 --input-dim 32 --batch 16 --activation relu "
                          "--init he-normal --seed 3");
    ASSERT_EQ(j["layers"].size(), 6u);
    for (const char* k :
         {"index", "q", "mean", "var", "grad_h2", "grad_w2", "dead_fraction", "saturated_fraction",
          "correlation", "nonfinite", "unit_spread", "relative_update"})
        EXPECT_TRUE(j["layers"][0].contains(k)) << k;
    EXPECT_EQ(j["layers"][0]["index"], 1);
    EXPECT_EQ(j["spec"]["depth"], 6);
    EXPECT_EQ(j["spec"]["activation"], "relu");
    for (const char* k : {"q", "c", "chi1"})
        EXPECT_TRUE(j["theory"].contains(k)) << k;
    EXPECT_EQ(j["theory"]["q"].size(), 6u);
    EXPECT_TRUE(j["input_grad2"].is_number());
    EXPECT_TRUE(j["seconds"].is_number());
}

// An rnn run (DESIGN.md's CLI contract): depth T time steps, width N hidden units, input-dim
// N_x; its JSON says arch and stage and carries the per-step input gradient; the views that do
// not take an rnn refuse it by name with exit 2.
TEST(Cli, RnnRunShapeAndRefusals) {
    const json j = okJson("run --arch rnn --depth 7 --width 48 --input-dim 12 --batch 20 "
                          "--recurrent-init identity --rnn-input first-step --activation relu");
    EXPECT_EQ(j["arch"], "rnn");
    EXPECT_EQ(j["stage"], "time step");
    ASSERT_EQ(j["layers"].size(), 7u);
    EXPECT_EQ(j["layers"][6]["index"], 7);
    EXPECT_EQ(j["layers"][0]["width"], 48);
    EXPECT_TRUE(j["layers"][0]["input_grad2"].is_number());
    EXPECT_TRUE(j["layers"][1]["input_grad2"].is_null()) << "no input at t = 2 (first-step)";
    EXPECT_EQ(j["theory"]["input_grad2"].size(), 7u);
    EXPECT_EQ(j["spec"]["recurrent_init"], "identity");
    EXPECT_EQ(j["spec"]["rnn_input"], "first-step");
    EXPECT_EQ(j["input_grad2"], j["layers"][0]["input_grad2"]);
    expectError("run --recurrent-init orthogonal", "--recurrent-init needs --arch rnn");
    expectError("run --arch rnn --recurrent-init sideways",
                "--recurrent-init: must be one of none identity");
    expectError("jacobian --arch rnn --depth 3 --width 16 --input-dim 8 --inputs 2", "arch rnn");
    expectError("ntk --arch rnn --depth 3 --width 16 --input-dim 8 --inputs 2", "arch rnn");
}

TEST(Cli, SigmaW2IsShorthandForLecunNormalGain) {
    json a = okJson("run --depth 4 --width 32 --batch 8 --sigma-w2 1.7");
    json b = okJson("run --depth 4 --width 32 --batch 8 --init lecun-normal --gain 1.7");
    a.erase("seconds");
    b.erase("seconds");
    EXPECT_EQ(a, b);
}

TEST(Cli, RunIsIdenticalForAnyThreadCount) {
    const std::string args = "run --depth 10 --width 128 --batch 100 --activation tanh "
                             "--bias-init normal --sigma-b2 0.05 --histograms";
    json a = okJson(args + " --threads 1");
    json b = okJson(args + " --threads 2");
    json c = okJson(args + " --threads 5");
    for (json* j : {&a, &b, &c})
        j->erase("seconds");
    EXPECT_EQ(a.dump(), b.dump());
    EXPECT_EQ(a.dump(), c.dump());
}

TEST(Cli, SweepShape) {
    const json j = okJson("sweep --sweep gain=0.5:2:4 --depth 5 --width 32 --batch 8");
    ASSERT_EQ(j["points"].size(), 4u);
    EXPECT_DOUBLE_EQ(j["points"][0]["gain"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(j["points"][3]["gain"].get<double>(), 2.0);
    EXPECT_EQ(j["points"][1]["layers"].size(), 5u);
    EXPECT_TRUE(j["seconds"].is_number());
    const json d = okJson("sweep --sweep depth=2:6:3 --width 16 --batch 4");
    EXPECT_EQ(d["points"][2]["layers"].size(), 6u);
    const json s = okJson("sweep --sweep sigma_w2=1:3:2 --depth 3 --width 16 --batch 4");
    EXPECT_EQ(s["points"][1]["spec"]["init"], "lecun-normal");
    EXPECT_DOUBLE_EQ(s["points"][1]["spec"]["gain"].get<double>(), 3.0);
}

TEST(Cli, PresetsListAndRunByName) {
    const json list = okJson("presets");
    ASSERT_TRUE(list.is_array());
    ASSERT_GE(list.size(), 2u);
    for (const json& p : list)
        for (const char* k : {"name", "title", "note"})
            EXPECT_TRUE(p.contains(k)) << k;
    const std::string name = list[0]["name"];
    const json r = okJson("run --preset " + name + " --depth 3");
    EXPECT_EQ(r["layers"].size(), 3u); // options override the preset
}

TEST(Cli, OverflowIsReportedNotCrashed) {
    const json j = okJson("run --depth 40 --width 512 --input-dim 512 --batch 32 --activation "
                          "linear --init normal --init-value 1");
    EXPECT_GT(j["first_nonfinite_layer"].get<int>(), 20);
    EXPECT_NE(j["message"].get<std::string>().find("non-finite from layer"), std::string::npos);
    const int bad = j["first_nonfinite_layer"];
    EXPECT_TRUE(j["layers"][bad - 1]["q"].is_null());
}

TEST(Cli, BadArgumentsExitTwoNamingTheProblem) {
    expectError("", "Usage");
    expectError("frobnicate", "unknown command 'frobnicate'");
    expectError("run --depth 0", "--depth: must be an integer from 1 to 5000 (got 0)");
    expectError("run --depth ten", "--depth: must be an integer");
    expectError("run --width 99999", "--width: must be an integer from 1 to 16384");
    expectError("run --activation tanhh", "one of linear tanh");
    expectError("run --init glorot", "--init: must be one of");
    expectError("run --gain -2", "--gain: must be a number from 0");
    expectError("run --depth", "--depth needs a value");
    expectError("run --bogus 3", "unknown option --bogus");
    expectError("run --depth 1000 --width 4096 --batch 4096", "GiB");
    expectError("run --preset no-such-preset", "neither a bundled preset");
    expectError("theory --sigma-w2 1 --sigma-b2 0", "--activation is required");
    expectError("theory --activation tanh --sigma-w2 x --sigma-b2 0",
                "--sigma-w2: must be a number");
    expectError("critical --activation tanh", "--sigma-b2 is required");
    expectError("sweep --depth 3", "--sweep NAME=FROM:TO:STEPS is required");
    expectError("sweep --sweep gain=1:2", "expected NAME=FROM:TO:STEPS");
    expectError("sweep --sweep activation=1:2:3", "not a numeric field");
    expectError("sweep --sweep depth=0:3:4", "depth: must be an integer from 1");
}

// --data: a missing file is named with its path; data that sets input_dim refuses another one;
// a CSV runs with its column count as input_dim.
TEST(Cli, DataOptionNamesTheFile) {
    const Result r = cli("run --data /nonexistent/inputs.csv --depth 2");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("--data: /nonexistent/inputs.csv not found"), std::string::npos) << r.err;
    expectError("run --data images", "--data: must be gaussian, fashion-mnist or a path ending");
    expectError("run --standardize no", "--standardize: no is ignored by --data gaussian");
    const auto csv = std::filesystem::temp_directory_path() /
                     ("initscope-cli-data-" + std::to_string(::getpid()) + ".csv");
    std::ofstream(csv) << "a,b,c\n1,2,3\n4,5,6\n7,8,9\n";
    expectError("run --data " + csv.string() + " --input-dim 4 --batch 3",
                "--input-dim: 4 conflicts with --data " + csv.string());
    const json j = okJson("run --data " + csv.string() + " --batch 3 --depth 2 --width 8");
    EXPECT_EQ(j["spec"]["input_dim"], 3);
    EXPECT_EQ(j["spec"]["data"], csv.string());
    EXPECT_FALSE(j["spec"].contains("standardize")) << "the default is not written";
    std::filesystem::remove(csv);
    const Result help = cli("--help");
    EXPECT_NE(help.out.find("--data [gaussian]"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("--standardize [yes]"), std::string::npos);
}

// The export line of --help lists the charts from the ui's view registry: every preset view,
// training (which an export trains) and the newer views too.
TEST(Cli, HelpListsEveryExportableChart) {
    const Result help = cli("--help");
    const auto at = help.out.find("NAME is one of");
    ASSERT_NE(at, std::string::npos) << help.out;
    const std::string list = help.out.substr(at, help.out.find("export-tour", at) - at);
    std::istringstream words(list);
    std::set<std::string> named{std::istream_iterator<std::string>(words), {}};
    for (const char* chart :
         {"signal", "gradients", "correlation", "distribution", "activations", "statistic", "phase",
          "jacobian", "ntk", "ensemble", "sweep", "training", "pinn", "maml", "trainability", "rl"})
        EXPECT_EQ(named.count(chart), 1u) << chart << " in\n" << list;
}

TEST(Cli, MalformedPresetFilesExitTwoNamingTheField) {
    // Each file under tests/cli/bad_presets is named after the field its error must name:
    // <field>--<description>.json
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(INITSCOPE_BAD_PRESETS)) {
        const std::string stem = entry.path().stem().string();
        const std::string field = stem.substr(0, stem.find("--"));
        const Result r = cli("run --preset " + entry.path().string());
        EXPECT_EQ(r.status, 2) << stem;
        EXPECT_TRUE(r.out.empty()) << stem;
        // named as the preset's key, or as the option when it is checked after options apply
        // (the memory budget: an option may raise it)
        std::string option = field;
        std::replace(option.begin(), option.end(), '_', '-');
        EXPECT_TRUE(r.err.find(field) != std::string::npos ||
                    r.err.find("--" + option) != std::string::npos)
            << stem << ":\n"
            << r.err;
        ++count;
    }
    EXPECT_GE(count, 30); // issue 4: a corpus of at least 30 bad files
}

TEST(Cli, GeneratedHostilePresetFilesExitTwoNamingTheField) {
    // Too large to commit, so written here: each once crashed or flooded stderr, or must be
    // refused before it is read.
    const auto dir = std::filesystem::temp_directory_path() /
                     ("initscope-cli-hostile-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string head = R"({"format": "initscope-preset", "version": 1, "name": "bad", )";
    struct Case {
        std::string file, text, field;
    };
    const std::size_t n = 300000; // nesting deeper than any recursive walk survives
    const std::vector<Case> cases{
        // over the 1 MiB limit (valid JSON, padded): refused by size before parsing
        {"oversized.json", head + R"("spec": {})" + std::string((1 << 20) + 16, ' ') + "}", "file"},
        // a 300000-deep array as a field value: its message used to dump() it recursively
        {"nested.json",
         head + R"("spec": {"depth": )" + std::string(n, '[') + std::string(n, ']') + "}}",
         "depth"},
        // a 100000-item list where a number belongs: the message must not echo 700 kB
        {"long.json",
         head + R"("spec": {"width": [)" +
             [] {
                 std::string s = "1";
                 for (int i = 1; i < 100000; ++i)
                     s += ",123456";
                 return s;
             }() +
             "]}}",
         "width"},
    };
    for (const Case& c : cases) {
        const auto path = dir / c.file;
        std::ofstream(path, std::ios::binary) << c.text;
        const Result r = cli("run --preset " + path.string());
        EXPECT_EQ(r.status, 2) << c.file;
        EXPECT_TRUE(r.out.empty()) << c.file;
        EXPECT_NE(r.err.find(c.field), std::string::npos) << c.file << ":\n" << r.err;
        EXPECT_LT(r.err.size(), 1000u) << c.file << ": the message is a sentence, not the file";
    }
    std::filesystem::remove_all(dir);
    // invalid UTF-8 typed on the command line: named, not an exception text
    const Result u = cli("run --activation '\xff'");
    EXPECT_EQ(u.status, 2);
    EXPECT_NE(u.err.find("--activation: must be one of"), std::string::npos) << u.err;
}

TEST(Cli, JacobianShapeAndIsometry) {
    // Orthogonal linear layers: every singular value is gain^(L/2) (1e-4: float weights).
    const json j = okJson("jacobian --depth 6 --width 32 --input-dim 32 --batch 8 --activation "
                          "linear --init orthogonal --gain 1.21 --inputs 3");
    for (const char* k : {"singular_values", "mean_sq", "theory_mean_sq", "spread",
                          "mean_sq_per_input", "first_nonfinite_layer", "spec", "seconds"})
        EXPECT_TRUE(j.contains(k)) << k;
    ASSERT_EQ(j["singular_values"].size(), 3u);
    for (const json& per : j["singular_values"]) {
        ASSERT_EQ(per.size(), 32u);
        for (const json& s : per)
            EXPECT_NEAR(s.get<double>(), std::pow(1.21, 3.0), 1e-4);
    }
    EXPECT_NEAR(j["mean_sq"].get<double>(), j["theory_mean_sq"].get<double>(), 1e-3);
    // deterministic across thread counts
    json a = okJson("jacobian --depth 4 --width 40 --batch 4 --inputs 2 --threads 1");
    json b = okJson("jacobian --depth 4 --width 40 --batch 4 --inputs 2 --threads 2");
    a.erase("seconds");
    b.erase("seconds");
    EXPECT_EQ(a, b);
}

TEST(Cli, NtkShape) {
    const json j = okJson("ntk --depth 5 --width 64 --input-dim 16 --batch 8 --inputs 6 "
                          "--bias-init normal --sigma-b2 0.05");
    for (const char* k : {"eigenvalues", "condition", "condition_by_depth", "analytic", "kernel",
                          "first_nonfinite_layer", "spec", "seconds"})
        EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j["eigenvalues"].size(), 6u);
    EXPECT_EQ(j["kernel"].size(), 6u);
    EXPECT_EQ(j["kernel"][0].size(), 6u);
    ASSERT_EQ(j["condition_by_depth"].size(), 5u);
    EXPECT_DOUBLE_EQ(j["condition_by_depth"][4].get<double>(), j["condition"].get<double>());
    EXPECT_GE(j["condition"].get<double>(), 1.0);
    const json& an = j["analytic"];
    for (const char* k : {"eigenvalues", "condition", "condition_by_depth", "kernel", "applicable"})
        EXPECT_TRUE(an.contains(k)) << k;
    EXPECT_TRUE(an["applicable"].get<bool>());
    EXPECT_EQ(an["condition_by_depth"].size(), 5u);
    // the curve's point at depth 3 is the depth-3 network's condition number (1e-5: the float
    // products of depths grouped side by side round differently, ~1e-7 relative)
    const json d3 = okJson("ntk --depth 3 --width 64 --input-dim 16 --batch 8 --inputs 6 "
                           "--bias-init normal --sigma-b2 0.05 --no-by-depth --no-analytic");
    EXPECT_NEAR(d3["condition"].get<double>(), j["condition_by_depth"][2].get<double>(),
                1e-5 * d3["condition"].get<double>());
    EXPECT_FALSE(d3.contains("analytic"));
    EXPECT_TRUE(d3["condition_by_depth"].empty());
}

TEST(Cli, PhaseShapeAndCriticalLineAgreesWithCritical) {
    const json j = okJson("phase --activation tanh --sigma-w2-range 0.5:3:6 "
                          "--sigma-b2-range 0:0.3:4");
    ASSERT_EQ(j["sigma_w2"].size(), 6u);
    ASSERT_EQ(j["sigma_b2"].size(), 4u);
    ASSERT_EQ(j["chi1"].size(), 4u); // one row per sigma_b^2
    ASSERT_EQ(j["chi1"][0].size(), 6u);
    ASSERT_EQ(j["xi_c"].size(), 4u);
    ASSERT_EQ(j["critical_line"].size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
        const double sb2 = j["sigma_b2"][i];
        const json c = okJson("critical --activation tanh --sigma-b2 " + json(sb2).dump());
        // issue 5: the diagram's critical line agrees with the critical command to 1e-4
        EXPECT_NEAR(j["critical_line"][i].get<double>(), c["sigma_w2"].get<double>(), 1e-4);
    }
    const json d = okJson("phase --activation relu");
    EXPECT_EQ(d["sigma_w2"].size(), 16u); // the defaults
    EXPECT_NEAR(d["critical_line"][0].get<double>(), 2.0, 1e-4);
}

TEST(Cli, EnsembleShape) {
    const json j = okJson("ensemble --seeds 3 --depth 4 --width 32 --batch 8 --seed 10");
    EXPECT_EQ(j["seeds"], json({10, 11, 12}));
    for (const char* k : {"q", "grad_h2", "correlation"}) {
        ASSERT_TRUE(j["bands"].contains(k)) << k;
        for (const char* f : {"mean", "min", "max", "q10", "q90"})
            EXPECT_EQ(j["bands"][k][f].size(), 4u) << k << " " << f;
    }
    for (std::size_t l = 0; l < 4; ++l) {
        EXPECT_LE(j["bands"]["q"]["min"][l].get<double>(),
                  j["bands"]["q"]["mean"][l].get<double>());
        EXPECT_LE(j["bands"]["q"]["mean"][l].get<double>(),
                  j["bands"]["q"]["max"][l].get<double>());
    }
    EXPECT_EQ(j["scalars"]["last_q"].size(), 3u);
    // the first seed's run is the single run of that seed
    const json r = okJson("run --depth 4 --width 32 --batch 8 --seed 10");
    EXPECT_DOUBLE_EQ(j["scalars"]["last_q"][0].get<double>(), r["layers"][3]["q"].get<double>());
}

namespace {
/// Peak resident memory (ru_maxrss, the child's VmHWM) in bytes of one initscope-cli run with
/// `args`, its stdout and stderr discarded; -1 when it could not be run or did not exit 0.
long long peakRssBytes(const std::vector<std::string>& args) {
    std::vector<std::string> all{INITSCOPE_CLI};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status = 0;
    rusage usage{};
    if (::wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return static_cast<long long>(usage.ru_maxrss) * 1024; // Linux reports KiB
}
} // namespace

// An ensemble as a whole stays within its memory budget: runs at once are limited to what the
// budget holds, not one per core. Measured: the peak resident memory of the real binary (its
// VmHWM, from wait4) minus the same binary's peak on a tiny run (libraries, allocator). One run
// here needs about 0.21 GiB (activations and phi' of 50 layers x 128 units x 4096 inputs), the
// budget is 0.3 GiB: one run fits, two side by side (what one-per-core did on this 2-core
// machine) would need 0.42 GiB and break the bound. The bound is the budget itself: the
// estimate covers every large buffer, and the margin between one run and the budget (about
// 0.09 GiB) takes the temporaries it leaves out.
TEST(Cli, EnsemblePeakMemoryStaysWithinItsBudget) {
    if (std::thread::hardware_concurrency() < 2)
        GTEST_SKIP() << "one core: runs never overlap, so the test could not fail";
    const std::vector<std::string> net{
        "--depth", "50",   "--width",   "128", "--input-dim",         "128",
        "--batch", "4096", "--threads", "4",   "--memory-budget-gib", "0.3"};
    std::vector<std::string> tiny{"run", "--depth", "2", "--width", "8", "--batch", "4"};
    std::vector<std::string> ensemble{"ensemble", "--seeds", "3"};
    ensemble.insert(ensemble.end(), net.begin(), net.end());
    const long long base = peakRssBytes(tiny);
    const long long peak = peakRssBytes(ensemble);
    ASSERT_GT(base, 0);
    ASSERT_GT(peak, 0);
    const double gib = 1024.0 * 1024 * 1024;
    std::printf("ensemble peak %.3f GiB above a %.3f GiB baseline (budget 0.3 GiB)\n",
                (peak - base) / gib, base / gib);
    EXPECT_LE((peak - base) / gib, 0.3);
    // and a budget that cannot hold a single run is refused, naming the whole
    expectError("ensemble --seeds 3 --depth 50 --width 128 --input-dim 128 --batch 4096 "
                "--memory-budget-gib 0.1",
                "GiB");
}

// After a forward overflow no gradient is defined: grad_h2, grad_w2, relative_update and
// input_grad2 are null at every layer (ReLU's phi'(NaN) = 0 made them exact zeros), in run, in
// the ensemble bands (no finite value at any layer) and at every sweep point.
TEST(Cli, GradientsAreNullAfterForwardOverflow) {
    const std::string net = "--init normal --init-value 1 --activation relu --depth 50 --width "
                            "256 --input-dim 256 --batch 16";
    const json r = okJson("run " + net);
    ASSERT_GT(r["first_nonfinite_layer"].get<int>(), 0);
    EXPECT_TRUE(r["input_grad2"].is_null());
    for (const json& l : r["layers"])
        for (const char* k : {"grad_h2", "grad_w2", "relative_update", "grad_row_spread"})
            EXPECT_TRUE(l[k].is_null()) << k << " at layer " << l["index"] << ": " << l[k];
    const json e = okJson("ensemble --seeds 2 " + net);
    for (const char* k : {"grad_h2", "grad_w2", "relative_update"})
        for (const json& f : e["bands"][k]["finite"])
            EXPECT_EQ(f.get<int>(), 0) << k;
    for (const json& v : e["scalars"]["input_grad2"])
        EXPECT_TRUE(v.is_null());
    const json sw = okJson("sweep --sweep init_value=0.9:1:2 " + net);
    for (const json& p : sw["points"]) {
        EXPECT_TRUE(p["input_grad2"].is_null());
        for (const json& l : p["layers"])
            EXPECT_TRUE(l["grad_h2"].is_null());
    }
}

// Jobs of hours are refused before they start, naming the estimate and --max-seconds (three
// minutes by default); a raised limit lets the same job through. The estimates asserted are
// far from the limits (a depth sweep 1:5000:10000 is hours on any machine: 10^15 flops), so
// the test does not depend on this machine's speed; the refusals must come at once (nothing
// ran), which the 10 s bound checks generously.
TEST(Cli, LongJobsAreRefusedNamingTheEstimate) {
    const auto t0 = std::chrono::steady_clock::now();
    expectError("sweep --sweep depth=1:5000:10000", "--max-seconds");
    expectError("sweep --sweep depth=1:5000:10000", " h (estimated");
    expectError("run --depth 100 --width 2048 --input-dim 2048 --batch 8192 "
                "--memory-budget-gib 32",
                "this run would take about");
    expectError("phase --activation tanh --sigma-w2-range 0.25:4:500 --sigma-b2-range 0:0.5:500 "
                "--max-seconds 5",
                "phase diagram of 250000 cells would take");
    expectError("ensemble --seeds 200 --depth 100 --width 1024 --input-dim 1024 --batch 1024",
                "ensemble of 200 runs would take");
    expectError("ntk --depth 1000 --width 2048 --input-dim 2048 --batch 64 --inputs 64 "
                "--memory-budget-gib 64",
                "--max-seconds");
    expectError("jacobian --depth 1000 --width 4096 --input-dim 4096 --inputs 16 "
                "--memory-budget-gib 256",
                "--max-seconds");
    expectError("run --depth 3 --max-seconds 0", "--max-seconds: must be a number greater than 0");
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
    // a small job passes the default, and a raised limit lets a refused one through
    okJson("phase --activation relu --sigma-w2-range 0.5:4:8 --sigma-b2-range 0:0.5:3");
    expectError("sweep --sweep gain=1:2:3 --depth 4 --width 16 --max-seconds 1e-9",
                "--max-seconds");
    okJson("sweep --sweep gain=1:2:3 --depth 4 --width 16 --max-seconds 1e9");
}

TEST(Cli, AnalysisCommandsRejectBadArguments) {
    expectError("jacobian --inputs 0", "--inputs: must be an integer from 1 to");
    expectError("jacobian --inputs 2.5", "--inputs: must be an integer");
    expectError("jacobian --batch 4 --inputs 5", "--inputs: must be an integer from 1 to 4");
    expectError("jacobian --depth 2 --width 4096 --input-dim 4096 --batch 256 --inputs 256", "GiB");
    expectError("jacobian --depth 0", "--depth: must be an integer from 1");
    expectError("ntk --inputs 129", "--inputs: must be an integer from 1 to 128");
    expectError("ntk --inputs many", "--inputs: must be an integer from 1 to 1024");
    expectError("ntk --inputs 1e9", "--inputs: must be an integer from 1 to 1024");
    expectError("ntk --no-analytic=1", "--no-analytic takes no value");
    expectError("phase", "--activation is required");
    expectError("phase --activation tanh --sigma-w2-range 1:2", "--sigma-w2-range: expected");
    expectError("phase --activation tanh --sigma-b2-range 1:0:3", "FROM <= TO");
    expectError("phase --activation tanh --sigma-b2-range 0:1:0", "STEPS must be an integer");
    expectError("phase --activation tanh --sigma-w2-range 0:1:1000 --sigma-b2-range 0:1:1000",
                "cells");
    expectError("phase --activation tanh --depth 3", "unknown option --depth");
    expectError("ensemble --depth 3", "--seeds S is required");
    expectError("ensemble --seeds 0", "--seeds: must be an integer from 1 to 256");
}

#ifdef INITSCOPE_CLI_HAS_EXPORT
namespace {
std::string readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
std::uint32_t bigEndian32(const std::string& s, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
        v = (v << 8) | static_cast<unsigned char>(s[at + i]);
    return v;
}
} // namespace

// `export` writes each format from the GUI's widgets: a PNG of width x height times the scale
// (read from its IHDR chunk) carrying the preset, an SVG carrying it, a PDF, and a CSV with a
// header and one row per layer.
TEST(Cli, ExportWritesEveryFormat) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("initscope-export-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string base = "export --preset he-relu --chart signal --width 640 --height 400 ";
    json j = okJson(base + "--scale 1.5 --out " + (dir / "s.png").string());
    EXPECT_EQ(j["format"], "png");
    EXPECT_EQ(j["preset"], "he-relu");
    const std::string png = readFile(dir / "s.png");
    ASSERT_GT(png.size(), 24u);
    EXPECT_EQ(png.substr(1, 3), "PNG");
    EXPECT_EQ(bigEndian32(png, 16), 960u);
    EXPECT_EQ(bigEndian32(png, 20), 600u);
    EXPECT_NE(png.find("initscope-preset"), std::string::npos);

    okJson(base + "--out " + (dir / "s.svg").string());
    const std::string svg = readFile(dir / "s.svg");
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    EXPECT_NE(svg.find("<initscope-preset"), std::string::npos);
    EXPECT_NE(svg.find("he-relu"), std::string::npos);

    okJson(base + "--style plain --out " + (dir / "s.pdf").string());
    const std::string pdf = readFile(dir / "s.pdf");
    EXPECT_EQ(pdf.substr(0, 4), "%PDF");
    EXPECT_NE(pdf.find("/Page"), std::string::npos);

    okJson("export --preset he-relu --chart signal --out " + (dir / "s.csv").string());
    const std::string csv = readFile(dir / "s.csv");
    EXPECT_EQ(csv.rfind("layer,", 0), 0u);
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 16 + 1); // he-relu: depth 16

    // an exported figure is a preset too: its experiment runs again
    okJson("export --preset " + (dir / "s.png").string() + " --chart distribution --out " +
           (dir / "d.csv").string());
    for (const char* chart : {"gradients", "correlation", "activations", "jacobian"})
        okJson(std::string("export --preset he-relu --chart ") + chart + " --out " +
               (dir / (std::string(chart) + ".svg")).string());
    // the analysis views write their values too, ensemble included, with the long header
    for (const char* chart : {"phase", "ensemble"}) {
        const auto path = dir / (std::string(chart) + ".csv");
        okJson(std::string("export --preset he-relu --chart ") + chart + " --out " + path.string());
        EXPECT_EQ(readFile(path).rfind("panel,series,x,y,value\n", 0), 0u) << chart;
    }
    std::filesystem::remove_all(dir);
}

// The Training view exports like every view: it trains the preset's train block (the window
// waits for Start) and writes its panels. The symmetry lesson's figure draws the statistic its
// preset names, unit_spread, exactly 0 in all 4 layers at step 0 and after 200 steps (constant
// init: gradient descent cannot break the tie), and its loss at every one of the 201 steps. A
// preset that cannot train is refused naming the field, instead of waiting for a result.
TEST(Cli, ExportTrainsTheTrainingView) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("initscope-train-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto csv = dir / "t.csv";
    okJson("export --preset symmetry-persists --chart training --out " + csv.string());
    const std::string text = readFile(csv);
    std::istringstream in(text);
    std::string line;
    int loss = 0, spread = 0;
    while (std::getline(in, line)) {
        if (line.rfind("loss,train_loss,", 0) == 0)
            ++loss;
        if (line.rfind("statistic,step_0,", 0) == 0 ||
            line.rfind("statistic,chosen_step,", 0) == 0) {
            ++spread;
            EXPECT_EQ(line.substr(line.rfind(',', line.size() - 2)), ",0,") << line;
        }
    }
    EXPECT_EQ(loss, 201);
    EXPECT_EQ(spread, 8); // 4 layers at step 0 and at step 200
    const json j =
        okJson("export --preset transfer --chart training --out " + (dir / "t.png").string());
    EXPECT_GT(j["bytes"].get<long>(), 1000);
    expectError("export --preset he-relu --chart training --out " + (dir / "x.png").string(),
                "--chart training: data: task fashion-mnist");
    std::filesystem::remove_all(dir);
}

// Every analysis view that cannot start with a preset's settings refuses the export at once,
// naming the field: it used to wait an hour (the CLI's timeout) for a result that never came.
TEST(Cli, ExportRefusesWhatAViewCannotStart) {
    const std::string out = " --out " + (std::filesystem::temp_directory_path() /
                                         ("initscope-r-" + std::to_string(::getpid()) + ".png"))
                                            .string();
    expectError("export --preset rnn-exploding --chart pinn" + out, "--chart pinn: arch:");
    expectError("export --preset cnn-correct-fan-in --chart rl" + out, "--chart rl: arch:");
    expectError("export --preset rnn-exploding --chart trainability" + out,
                "--chart trainability: data:");
    expectError("export --preset rnn-exploding --chart ntk" + out, "--chart ntk: arch:");
}

// `export-tour` writes one figure per step, of the requested size, and an index naming each
// step and its file; a bad tour is refused naming the step and field.
TEST(Cli, ExportTourWritesAFolderWithAnIndex) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("initscope-tour-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
        std::ofstream t(dir / "t.json");
        t << R"({"format": "initscope-tour", "version": 1, "title": "Two",
                 "steps": [{"preset": "he-relu", "note": "He"},
                           {"preset": "xavier-relu", "view": "gradients", "title": "X"}]})";
    }
    const json j = okJson("export-tour --tour " + (dir / "t.json").string() + " --out " +
                          (dir / "out").string() + " --width 640 --height 400 --scale 1");
    EXPECT_EQ(j["format"], "png");
    ASSERT_EQ(j["steps"].size(), 2u);
    EXPECT_EQ(j["steps"][1]["file"], "02-xavier-relu.png");
    EXPECT_EQ(j["steps"][1]["view"], "gradients");
    for (const char* name : {"01-he-relu.png", "02-xavier-relu.png"}) {
        const std::string png = readFile(dir / "out" / name);
        ASSERT_GT(png.size(), 24u) << name;
        EXPECT_EQ(bigEndian32(png, 16), 640u);
        EXPECT_EQ(bigEndian32(png, 20), 400u);
    }
    const std::string index = readFile(dir / "out" / "index.md");
    EXPECT_NE(index.find("| 2 | X |  | [02-xavier-relu.png](02-xavier-relu.png) |"),
              std::string::npos)
        << index;
    EXPECT_NE(readFile(dir / "out" / "index.html").find("01-he-relu.png"), std::string::npos);
    {
        std::ofstream t(dir / "bad.json");
        t << R"({"format": "initscope-tour", "version": 1, "title": "Bad",
                 "steps": [{"preset": "he-relu"}, {"preset": "he-relu", "view": "slides"}]})";
    }
    expectError("export-tour --tour " + (dir / "bad.json").string() + " --out " +
                    (dir / "bad").string(),
                "steps[1].view");
    expectError("export-tour --tour lessons --out " + (dir / "x").string() + " --format gif",
                "--format");
    expectError("export-tour --out " + (dir / "x").string(), "--tour");
    std::filesystem::remove_all(dir);
}

TEST(Cli, ExportRejectsBadArgumentsNamingTheOption) {
    const std::string out = " --out " + (std::filesystem::temp_directory_path() /
                                         ("initscope-x-" + std::to_string(::getpid()) + ".png"))
                                            .string();
    expectError("export --chart signal" + out, "--preset");
    expectError("export --preset he-relu" + out, "--chart is required");
    expectError("export --preset he-relu --chart signal", "--out");
    expectError("export --preset he-relu --chart nope" + out, "--chart: unknown chart 'nope'");
    expectError("export --preset no-such-preset --chart signal" + out, "--preset");
    expectError("export --preset he-relu --chart signal --out /tmp/x.bmp", "--out");
    expectError("export --preset he-relu --chart signal --width 10" + out, "--width");
    expectError("export --preset he-relu --chart signal --scale 0" + out, "--scale");
    expectError("export --preset he-relu --chart signal --style neon" + out, "--style");
    expectError("export --preset he-relu --chart signal --depth 3" + out, "unknown option --depth");
    expectError("export --preset " + std::string(INITSCOPE_BAD_PRESETS) +
                    "/depth--negative.json --chart signal" + out,
                "depth");
}
// An export onto a full disk exits 2 with the system's reason and leaves the old file whole
// (a CSV of a few hundred bytes: the size a buffered writer loses on flush, emptying the file),
// and the figure formats too. Skipped, saying why, where no tmpfs can be mounted.
TEST(Cli, ExportOntoFullDiskFailsAndKeepsTheOldFile) {
    initscope::test::FullDisk disk("512k");
    if (!disk.mounted())
        GTEST_SKIP() << disk.reason();
    const std::string base = "export --preset he-relu --chart signal --out ";
    for (const char* name : {"x.csv", "x.png", "x.svg", "x.pdf"})
        okJson(base + disk.path(name));
    std::map<std::string, std::string> before;
    for (const char* name : {"x.csv", "x.png", "x.svg", "x.pdf"})
        before[name] = readFile(disk.path(name));
    ASSERT_TRUE(disk.fill());
    for (const char* name : {"x.csv", "x.png", "x.svg", "x.pdf"}) {
        expectError(base + disk.path(name), "No space left on device");
        EXPECT_EQ(readFile(disk.path(name)), before[name]) << name;
        EXPECT_FALSE(before[name].empty()) << name;
    }
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(disk.dir()))
        ++files;
    EXPECT_EQ(files, 5u) << "the four files and the filler, no temporary file left";
}
#endif

// One meaning per setting: the combinations that used to be dropped without a word.
TEST(Cli, SigmaB2AloneMeansNormalBiasesInRunTheoryAndSweep) {
    const std::string net = " --depth 6 --width 64 --input-dim 64 --batch 16 --activation tanh";
    const json r = okJson("run --sigma-b2 0.05" + net);
    EXPECT_EQ(r["spec"]["bias_init"], "normal");
    const json t = okJson("theory --activation tanh --sigma-w2 1 --sigma-b2 0.05");
    // run's theory uses the same sigma_b^2 as the theory command (one network, one chi1)
    EXPECT_NEAR(r["theory"]["chi1"].get<double>(), t["chi1"].get<double>(), 1e-9);
    // a sweep over sigma_b2 varies the biases: its points differ
    const json s = okJson("sweep --sweep sigma_b2=0:0.5:2" + net);
    ASSERT_EQ(s["points"].size(), 2u);
    EXPECT_NE(s["points"][0]["layers"][5]["q"], s["points"][1]["layers"][5]["q"]);
}

TEST(Cli, RefusedCombinationsNameBothFields) {
    expectError("run --bias-init zeros --sigma-b2 0.05", "--bias-init");
    expectError("run --bias-init zeros --sigma-b2 0.05", "--sigma-b2");
    expectError("run --bias-init constant --sigma-b2 0.05", "--bias-init constant");
    expectError("run --init he-normal --init-value 0.5", "--init he-normal");
    expectError("run --init lecun-normal --fan-mode fan-out", "--fan-mode");
    expectError("run --activation tanh --activation-slope 0.2", "--activation tanh");
    expectError("run --bias-value 0.3", "--bias-init zeros");
    for (const char* init : {"zeros", "constant", "normal", "uniform"})
        expectError(std::string("run --init ") + init + " --sigma-w2 1.2",
                    std::string("--init ") + init);
    expectError("run --gain 2 --sigma-w2 1.2", "--gain");
    // an out-of-range sigma_w2 is blamed on --sigma-w2, not on the gain it would set
    expectError("run --sigma-w2 1e7", "--sigma-w2: must be a number from 0 to");
}

TEST(Cli, SigmaW2KeepsTheChosenScheme) {
    const std::string net = " --depth 8 --width 64 --input-dim 32 --batch 8 --activation linear";
    const json o = okJson("run --init orthogonal --sigma-w2 1.2" + net);
    EXPECT_EQ(o["spec"]["init"], "orthogonal");
    EXPECT_NEAR(o["layers"][3]["sigma_w2"].get<double>(), 1.2, 1e-12);
    // orthogonal weights in a linear network multiply the length by exactly sigma_w^2 per
    // layer above the first (Q^T Q = I): float32 rounding over 8 layers stays below 1e-5
    const double ratio = o["layers"][7]["q"].get<double>() / o["layers"][6]["q"].get<double>();
    EXPECT_NEAR(ratio, 1.2, 1e-5);
}

TEST(Cli, StrictOptions) {
    expectError("run --depth 5 --depth 6", "--depth is given more than once");
    expectError("run --depth --width 5", "--depth needs a value");
    expectError("run --depth inf", "(got 'inf')");
    expectError("run --depth abc", "--depth: must be an integer from 1 to 5000");
    expectError("sweep --sweep depth=4294967299:4294967299:1", "depth");
    expectError("sweep --sweep seed=-5:-5:1", "seed: must be an integer from 0 to");
    expectError("sweep --sweep seed=1e30:1e30:1", "(got 1e+30)");
    // a preset that raises its memory budget is saved with it and runs again
    const auto path = std::filesystem::temp_directory_path() /
                      ("initscope-budget-" + std::to_string(::getpid()) + ".json");
    std::ofstream(path) << R"({"format": "initscope-preset", "version": 1, "name": "big",
        "spec": {"depth": 4, "width": 512, "input_dim": 512, "batch": 4,
                 "memory_budget_gib": 0.001}})"; // about 8 MiB of weights: above 1 MiB
    expectError("run --preset " + path.string(), "memory budget of 0.001 GiB");
    const json r = okJson("run --preset " + path.string() + " --memory-budget-gib 1");
    EXPECT_EQ(r["spec"]["memory_budget_gib"], 1.0);
    std::filesystem::remove(path);
}

TEST(Cli, NtkTakesThePresetsViewSettings) {
    // ntk-conditioning's figures are for 32 inputs, which the preset stores; --inputs overrides
    const json j = okJson("ntk --preset ntk-conditioning --depth 2 --no-analytic --no-by-depth");
    EXPECT_EQ(j["inputs"], 32);
    const json k =
        okJson("ntk --preset ntk-conditioning --depth 2 --inputs 8 --no-analytic --no-by-depth");
    EXPECT_EQ(k["inputs"], 8);
}

// `train`: the contract's keys, layers at steps 0, every k and the last, step 0 equal to `run`
// of the same spec, thread-count independence, and errors that name the options.
TEST(Cli, TrainShape) {
    const std::string net = " --depth 3 --width 24 --input-dim 8 --batch 32 --activation tanh";
    const json j = okJson("train --task teacher --steps 10 --record-every 4 --optimizer momentum "
                          "--momentum 0.8 --lr 0.02 --outputs 3" +
                          net);
    for (const char* k : {"spec", "train", "steps", "seconds", "first_nonfinite_step", "message"})
        EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_FALSE(j.contains("test_accuracy")); // regression
    EXPECT_EQ(j["train"]["optimizer"], "momentum");
    EXPECT_EQ(j["train"]["momentum"], 0.8);
    EXPECT_EQ(j["train"]["learning_rate"], 0.02);
    ASSERT_EQ(j["steps"].size(), 11u);
    for (const json& s : j["steps"]) {
        const int step = s["step"].get<int>();
        EXPECT_TRUE(s["loss"].is_number()) << step;
        EXPECT_FALSE(s.contains("accuracy"));
        EXPECT_EQ(s.contains("layers"), step == 0 || step == 4 || step == 8 || step == 10) << step;
        if (s.contains("layers")) {
            ASSERT_EQ(s["layers"].size(), 3u);
        }
    }
    EXPECT_LT(j["steps"][10]["loss"].get<double>(), j["steps"][0]["loss"].get<double>());
    // step 0's layers are `run`'s for the same spec (the learning rate enters relative_update)
    const json r = okJson("run --learning-rate 0.02" + net);
    EXPECT_EQ(j["steps"][0]["layers"].dump(), r["layers"].dump());
    json a = okJson("train --task teacher --steps 5 --optimizer adam --threads 1" + net);
    json b = okJson("train --task teacher --steps 5 --optimizer adam --threads 2" + net);
    a.erase("seconds");
    b.erase("seconds");
    a["spec"].erase("threads");
    b["spec"].erase("threads");
    EXPECT_EQ(a.dump(), b.dump());
}

TEST(Cli, TrainFashionMnistReportsAccuracy) {
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    const json j = okJson("train --steps 3 --depth 2 --width 16 --batch 16 --activation relu "
                          "--init he-normal --test-examples 500 --freeze-trunk");
    EXPECT_EQ(j["spec"]["data"], "fashion-mnist"); // implied by the task
    EXPECT_EQ(j["train"]["test_examples"], 500);
    EXPECT_TRUE(j["train"]["freeze_trunk"].get<bool>());
    ASSERT_EQ(j["steps"].size(), 4u);
    for (const json& s : j["steps"]) {
        const double acc = s["accuracy"].get<double>();
        EXPECT_TRUE(acc >= 0 && acc <= 1);
    }
    EXPECT_TRUE(j["steps"][0].contains("test_accuracy"));
    EXPECT_TRUE(j["test_accuracy"].is_number());
    // a frozen trunk: its forward statistics are the same at the last step as at step 0
    EXPECT_EQ(j["steps"][3]["layers"][0]["q"], j["steps"][0]["layers"][0]["q"]);
}

TEST(Cli, TrainErrorsNameTheirOptions) {
    expectError("train --task teacher", "--steps N is required");
    expectError("train --task teacher --steps 0", "--steps: must be an integer from 1 to 100000");
    expectError("train --task teacher --steps 5 --optimizer rmsprop", "--optimizer: unknown");
    expectError("train --task teacher --steps 5 --momentum 0.5",
                "--momentum: applies to --optimizer momentum only, and --optimizer is sgd");
    expectError("train --task teacher --steps 5 --optimizer momentum --momentum 1",
                "--momentum: must be a number from 0 to below 1");
    expectError("train --task teacher --steps 5 --lr 0", "--lr: must be a number > 0");
    expectError("train --task teacher --steps 5 --lr 0.1 --learning-rate 0.1",
                "--lr and --learning-rate are the same setting");
    expectError("train --steps 5 --outputs 3", "--outputs: applies to --task teacher only");
    expectError("train --task teacher --steps 5 --test-examples 10",
                "--test-examples: applies to --task fashion-mnist only");
    expectError("train --task teacher --steps 5 --arch resnet", "--arch: training runs on an mlp");
    expectError("train --steps 5 --data gaussian", "--data: task fashion-mnist trains on");
    expectError("train --task teacher --steps 100000 --depth 50 --width 1024 --batch 512",
                "--max-seconds");
}

// `pinn` (scenario 15): DESIGN.md's keys, one value per c of the log grid, the slopes over
// c >= 10 near 1, 1 and 2 (r is linear in c: rms r ~ |c|, the loss gradient ~ c^2 once c is
// large; 0.05 leaves room for the finite-c curvature measured here, < 0.02), training curves of
// N + 1 steps and the u grids; errors name their options.
TEST(Cli, Pinn) {
    const json j = okJson("pinn --wave-speed-range 1:1000:4 --depth 3 --width 16 --collocation 64 "
                          "--train-steps 5 --grid 6 --seed 2");
    for (const char* k : {"c", "rms_residual", "grad_residual", "grad_loss", "slope",
                          "slope_whole_range", "training", "u_init", "spec", "seconds"})
        EXPECT_TRUE(j.contains(k)) << k;
    ASSERT_EQ(j["c"].size(), 4u);
    EXPECT_DOUBLE_EQ(j["c"][3].get<double>(), 1000);
    EXPECT_EQ(j["spec"]["input_dim"], 2);
    EXPECT_EQ(j["spec"]["init"], "he-normal");
    EXPECT_NEAR(j["slope"]["rms_residual"].get<double>(), 1.0, 0.05);
    EXPECT_NEAR(j["slope"]["grad_residual"].get<double>(), 1.0, 0.05);
    EXPECT_NEAR(j["slope"]["grad_loss"].get<double>(), 2.0, 0.1);
    ASSERT_EQ(j["training"].size(), 2u); // the range's ends
    EXPECT_EQ(j["training"][1]["c"], 1000);
    EXPECT_EQ(j["training"][0]["steps"].size(), 6u);
    EXPECT_EQ(j["u_init"].size(), 6u);
    EXPECT_EQ(j["training"][0]["u"][0].size(), 6u);
}

TEST(Cli, PinnErrorsNameTheirOptions) {
    expectError("pinn", "--wave-speed-range FROM:TO:STEPS is required");
    expectError("pinn --wave-speed-range 0:10:5", "--wave-speed-range: must be FROM:TO:STEPS");
    expectError("pinn --wave-speed-range 1:10", "--wave-speed-range: expected FROM:TO:STEPS");
    expectError("pinn --wave-speed-range 1:10:5 --input-dim 3",
                "--input-dim: the PINN's input is (t, x)");
    expectError("pinn --wave-speed-range 1:10:5 --collocation 0", "--collocation: must be");
    expectError("pinn --wave-speed-range 1:10:5 --optimizer momentum", "--optimizer: unknown");
    expectError("pinn --wave-speed-range 1:10:5 --train-speeds 1,x", "--train-speeds: must be");
    expectError("pinn --wave-speed-range 1:10:5 --arch resnet", "--arch: the PINN is an mlp");
    expectError("pinn --wave-speed-range 1:10:5 --ic-weight -1", "--ic-weight: must be");
}

// arch cnn (issue 11): the run's JSON names the family, one layer entry per conv layer of
// C S^2 units, the spec carries the conv fields and the derived input_dim C0 S^2; the forgotten
// k^2 shows in sigma_w2 (k^2 x 2 for He); a conv field without arch cnn, delta-orthogonal with an
// mlp and ntk of a cnn are refused by name with exit 2; the jacobian takes a cnn.
TEST(Cli, RunArchCnn) {
    const json j = okJson("run --arch cnn --depth 4 --channels 6 --input-channels 2 --kernel 3 "
                          "--image 5 --activation relu --init he-normal --conv-fan channels-only "
                          "--batch 10 --seed 2 --threads 2");
    EXPECT_EQ(j["arch"], "cnn");
    EXPECT_EQ(j["stage"], "layer");
    ASSERT_EQ(j["layers"].size(), 4u);
    EXPECT_EQ(j["layers"][0]["width"], 6 * 25);
    EXPECT_DOUBLE_EQ(j["layers"][1]["sigma_w2"].get<double>(), 18.0);
    EXPECT_EQ(j["spec"]["input_dim"], 2 * 25);
    EXPECT_EQ(j["spec"]["conv_fan"], "channels-only");
    EXPECT_EQ(j["theory"]["q"].size(), 4u);
    EXPECT_TRUE(j["input_grad2"].is_number());
    const json t1 =
        okJson("run --arch cnn --depth 3 --channels 4 --image 6 --batch 70 --threads 1");
    json t2 = okJson("run --arch cnn --depth 3 --channels 4 --image 6 --batch 70 --threads 2");
    json a = t1;
    a.erase("seconds");
    t2.erase("seconds");
    EXPECT_EQ(a.dump(), t2.dump()) << "thread count changed a cnn run";
    expectError("run --channels 8", "channels");
    expectError("run --init delta-orthogonal", "arch");
    expectError("run --arch cnn --kernel 4", "odd");
    expectError("ntk --arch cnn --depth 2 --channels 4 --image 4 --inputs 4", "arch");
    const json jac = okJson("jacobian --arch cnn --depth 3 --channels 4 --input-channels 4 "
                            "--image 4 --init delta-orthogonal --activation linear --inputs 1");
    for (double s : jac["singular_values"][0])
        EXPECT_NEAR(s, 1.0, 1e-5); // delta-orthogonal, gain 1, linear: an isometry
}

// The trainability map (DESIGN.md keys): shape, nulls where xi_c is infinite, the cells' spec,
// and errors naming their option.
TEST(Cli, TrainabilityShapeAndErrors) {
    expectError("trainability --sigma-w2-range 1:2:2 --steps 5", "--depth-range FROM:TO:STEPS");
    expectError("trainability --depth-range 2:4:2 --steps 5", "--sigma-w2-range FROM:TO:STEPS");
    expectError("trainability --depth-range 2:4:2 --sigma-w2-range 1:2:2", "--steps N");
    expectError("trainability --depth-range 0:4:2 --sigma-w2-range 1:2:2 --steps 5",
                "--depth-range: FROM and TO must be integers from 1 to 5000");
    expectError("trainability --depth-range 2:4:2 --sigma-w2-range 0:2:2 --steps 5",
                "--sigma-w2-range: FROM and TO must be numbers with 0 < FROM");
    expectError("trainability --depth-range 2:4:2 --sigma-w2-range 1:2:99 --steps 5",
                "--sigma-w2-range: STEPS must be an integer from 1 to 64");
    expectError("trainability --depth-range 2:4:2 --sigma-w2-range 1:2:2 --steps 5 --depth 3",
                "--depth: the trainability map sets");
    expectError("trainability --depth-range 2:4:2 --sigma-w2-range 1:2:2 --steps 5 "
                "--bias-init constant",
                "--bias-init: the trainability map's theory takes biases");
    expectError("trainability --depth-range 100:2000:8 --sigma-w2-range 1:4:8 --steps 1000",
                "would take about");
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    // tanh without bias: critical at sigma_w^2 = 1, so xi_c there is infinite (null)
    const json j = okJson("trainability --depth-range 2:3:2 --sigma-w2-range 1:2:3 --steps 4 "
                          "--width 16 --batch 16 --test-examples 200");
    for (const char* k : {"depth", "sigma_w2", "accuracy", "loss", "xi_c", "six_xi_c", "seconds",
                          "diverged_at", "critical_sigma_w2", "spec", "train"})
        EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j["depth"], json({2, 3}));
    EXPECT_EQ(j["sigma_w2"], json({1.0, 1.5, 2.0}));
    ASSERT_EQ(j["accuracy"].size(), 2u);
    ASSERT_EQ(j["loss"].size(), 2u);
    for (int i = 0; i < 2; ++i) {
        ASSERT_EQ(j["accuracy"][i].size(), 3u);
        for (const json& a : j["accuracy"][i])
            EXPECT_TRUE(a.get<double>() >= 0 && a.get<double>() <= 1);
    }
    EXPECT_TRUE(j["xi_c"][0].is_null());
    EXPECT_TRUE(j["six_xi_c"][0].is_null());
    EXPECT_NEAR(j["six_xi_c"][2].get<double>(), 6 * j["xi_c"][2].get<double>(), 1e-9);
    EXPECT_EQ(j["spec"]["data"], "fashion-mnist");
    EXPECT_EQ(j["train"]["steps"], 4);
    // the cell (depth 3, sigma_w^2 2) is `train --sigma-w2 2 --depth 3`: the same test accuracy
    const json t = okJson("train --steps 4 --depth 3 --sigma-w2 2 --width 16 --batch 16 "
                          "--test-examples 200");
    EXPECT_EQ(j["accuracy"][1][2], t["test_accuracy"]);
}

TEST(Cli, MamlShape) {
    const json j = okJson("maml --tasks gentle --meta-steps 20 --record-every 5 --width 12 "
                          "--inner-steps 2 --meta-batch 3 --eval-tasks 3");
    for (const char* k : {"meta_step", "sigma_w2", "saturated_fraction", "inner_grad_norm",
                          "xavier", "post_adaptation_loss", "spec", "maml", "seconds"})
        EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j["meta_step"], json::parse("[0,5,10,15,20]"));
    ASSERT_EQ(j["sigma_w2"].size(), 5u);
    EXPECT_EQ(j["sigma_w2"][0].size(), 3u); // two tanh layers and the readout
    EXPECT_EQ(j["xavier"]["sigma_w2"], j["sigma_w2"][0]);
    EXPECT_EQ(j["maml"]["order"], "second");
    EXPECT_EQ(j["maml"]["inner_steps"], 2);
    EXPECT_EQ(j["spec"]["input_dim"], 1);
    EXPECT_EQ(j["spec"]["init"], "xavier-normal");
    // the init moved, and the same run on one thread is the same document but for seconds
    EXPECT_NE(j["sigma_w2"][4], j["sigma_w2"][0]);
    json a = okJson("maml --tasks gentle --meta-steps 20 --record-every 5 --width 12 "
                    "--inner-steps 2 --meta-batch 3 --eval-tasks 3 --threads 1");
    json b = j;
    a.erase("seconds");
    b.erase("seconds");
    a["spec"].erase("threads");
    b["spec"].erase("threads");
    EXPECT_EQ(a.dump(), b.dump());
    EXPECT_EQ(okJson("maml --tasks steep --meta-steps 2 --first-order")["maml"]["order"], "first");
}

TEST(Cli, MamlErrorsNameTheirOptions) {
    expectError("maml", "--tasks steep|gentle is required");
    expectError("maml --tasks wavy", "--tasks: unknown family 'wavy' (steep or gentle)");
    expectError("maml --tasks steep --meta-steps 0", "--meta-steps: must be an integer from 1");
    expectError("maml --tasks steep --inner-steps 51", "--inner-steps: must be an integer from 1 "
                                                       "to 50");
    expectError("maml --tasks steep --inner-lr -1", "--inner-lr: must be a number > 0");
    expectError("maml --tasks steep --meta-lr 2", "--meta-lr: must be a number > 0 and <= 1");
    expectError("maml --tasks steep --input-dim 3", "--input-dim: a sine task has one input");
    expectError("maml --tasks steep --activation relu", "--activation: maml's network is a tanh");
    expectError("maml --tasks steep --bogus 1", "--bogus");
    expectError("maml --tasks steep --width 3000", "--width, --depth: maml's network is limited");
    expectError("maml --tasks steep --meta-steps 100000 --width 200 --max-seconds 1",
                "above the limit of --max-seconds 1");
}

// rl (issue 13, scenario 16): the three inits by name with DESIGN.md's keys; the bias sets the
// initial mean (within 4 theory sd), the large init's spread is sqrt(G) times the small one's;
// curves one entry per recorded episode; thread count changes nothing; bad options name
// themselves with the allowed range (exit 2).
TEST(Cli, RlShapeAndErrors) {
    const json j = okJson("rl --episodes 200 --record-every 50 --q-opt 2 --actions 4 --states 8 "
                          "--large-gain 25 --threads 1");
    ASSERT_EQ(j["inits"].size(), 3u);
    const char* names[] = {"zero", "optimistic", "optimistic-large"};
    const double bias[] = {0.0, 2.0, 2.0};
    for (int i = 0; i < 3; ++i) {
        const json& o = j["inits"][static_cast<std::size_t>(i)];
        EXPECT_EQ(o["name"], names[i]);
        for (const char* k : {"q_mean", "q_std", "actions_tried", "regret", "q_mean_curve",
                              "q_rms_error", "q_initial", "q_std_theory"})
            EXPECT_TRUE(o.contains(k)) << k;
        EXPECT_LE(std::abs(o["q_mean"].get<double>() - bias[i]),
                  4.0 * o["q_mean_sd_theory"].get<double>());
        EXPECT_EQ(o["regret"].size(), 5u); // episodes 0, 50, 100, 150, 200
        EXPECT_EQ(o["actions_tried"].size(), 5u);
        EXPECT_EQ(o["q_initial"].size(), 32u);
    }
    EXPECT_NEAR(j["inits"][2]["q_std"].get<double>() / j["inits"][1]["q_std"].get<double>(), 5.0,
                1e-3);
    EXPECT_EQ(j["steps"], json({0, 50, 100, 150, 200}));
    json b = okJson("rl --episodes 200 --record-every 50 --q-opt 2 --actions 4 --states 8 "
                    "--large-gain 25 --threads 2");
    json a = j;
    a.erase("seconds");
    b.erase("seconds");
    a["spec"].erase("threads");
    b["spec"].erase("threads");
    EXPECT_EQ(a.dump(), b.dump());
    expectError("rl --episodes 0", "--episodes: must be an integer from 1 to 100000");
    expectError("rl --actions 1", "--actions: must be an integer from 2 to 256");
    expectError("rl --q-opt x", "--q-opt: must be a number");
    expectError("rl --q-opt 5000", "--q-opt: must be from -1000 to 1000");
    expectError("rl --large-gain 0", "--large-gain: must be from");
    expectError("rl --lr 0.1 --learning-rate 0.1", "--lr and --learning-rate are the same");
    expectError("rl --arch cnn", "--arch: the Q-network's trunk is an mlp");
    expectError("rl --bogus 1", "--bogus");
}

// Heads (issue 12): --head is repeatable; run reports every head's output mean and spread and
// its layers, and nothing about heads without them; bad heads exit 2 naming the head's field.
TEST(Cli, HeadsInRunAndTrain) {
    const std::string net = " --depth 3 --width 64 --input-dim 16 --batch 32 --activation tanh";
    const json j = okJson(
        "run" + net + " --head cls:10:lecun-normal:bias=0.5 --head deep:128,4:he-normal:weight=3");
    ASSERT_TRUE(j.contains("heads"));
    ASSERT_EQ(j["heads"].size(), 2u);
    EXPECT_EQ(j["heads"][0]["name"], "cls");
    EXPECT_EQ(j["heads"][1]["layers"].size(), 2u);
    EXPECT_NEAR(j["heads"][0]["out_mean"].get<double>(), 0.5, 0.2);
    EXPECT_GT(j["heads"][0]["out_std"].get<double>(), 0.0);
    EXPECT_EQ(j["spec"]["heads"].size(), 2u);
    EXPECT_EQ(j["spec"]["heads"][1]["weight"], 3.0);
    // the trunk is the same with or without heads
    const json plain = okJson("run" + net);
    EXPECT_FALSE(plain.contains("heads"));
    EXPECT_FALSE(plain["spec"].contains("heads"));
    EXPECT_EQ(plain["layers"].dump(), j["layers"].dump());
    expectError("run --head cls:10", "--head 'cls:10': needs NAME:W1,W2");
    expectError("run --head cls:0:lecun-normal", "heads[0].widths[0]: must be an integer from 1");
    expectError("run --head a:4:lecun-normal --head a:4:he-normal",
                "heads[1].name: 'a' is the name");
    // train: the heads replace the readout, each step lists them
    const json t = okJson("train --task teacher --steps 4 --record-every 2" + net +
                          " --head a:3:lecun-normal --head b:32,2:xavier-normal:weight=0.5");
    ASSERT_EQ(t["steps"][0]["heads"].size(), 2u);
    EXPECT_TRUE(t["steps"][2]["heads"][1].contains("trunk_share"));
    EXPECT_FALSE(t["steps"][1]["heads"][1].contains("trunk_share"));
    const double total = t["steps"][1]["loss"].get<double>();
    const double sum = t["steps"][1]["heads"][0]["loss"].get<double>() +
                       0.5 * t["steps"][1]["heads"][1]["loss"].get<double>();
    EXPECT_NEAR(total, sum, 1e-12 * (1 + total));
    expectError("train --steps 4 --classes 0-4 --head a:10:lecun-normal",
                "heads[0].widths: its last entry is the head's outputs");
    expectError("train --steps 4 --classes 7-3", "--classes: must be Fashion-MNIST classes");
    expectError("train --steps 4 --pretrain-steps 5", "--pretrain-classes: pretrain_steps 5 needs");
}

// Nothing set is silently ignored: the applications refuse heads (their readout is fixed by the
// task: u(t, x), y, one Q-value per action; a head used to reach the PINN's products with the
// wrong shapes), and every command refuses the run options it does not read, saying what takes
// their place.
TEST(Cli, ApplicationsRefuseWhatTheyDoNotUse) {
    const std::string head = " --head a:8:he-normal";
    expectError("pinn --wave-speed-range 1:10:2" + head,
                "--heads: the PINN's output is the one-unit readout u(t, x)");
    expectError("maml --tasks steep --meta-steps 2" + head,
                "--heads: a sine task's output is the one-unit readout y");
    expectError("rl --episodes 10" + head, "--heads: the Q-network's head is its readout");
    expectError("pinn --wave-speed-range 1:10:2 --batch 64",
                "--batch: pinn does not use it: its inputs are the --collocation M points");
    expectError("pinn --wave-speed-range 1:10:2 --learning-rate 0.1",
                "--learning-rate: pinn does not use it: its training rate is --lr");
    expectError("maml --tasks steep --input-scale 2", "--input-scale: maml does not use it");
    expectError("maml --tasks steep --learning-rate 0.1", "its rates are --inner-lr and --meta-lr");
    expectError("rl --batch 8", "--batch: rl does not use it");
    expectError("rl --hist-bins 8", "--hist-bins: rl does not use it");
    expectError("trainability --loss mse", "--loss: trainability does not use it");
}
