// Option tables: defaults, config files, command-line precedence, bounds and unknown keys.
#include "zeta/options.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "zeta/error.hpp"
#include "zeta/train.hpp"

namespace zeta {
namespace {

std::string WriteFile(const std::string& name, const std::string& text) {
  const auto path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path) << text;
  return path;
}

struct Parsed {
  TrainConfig config;
  std::string config_file;
  OptionTable table{"zeta train", "test"};
  Parsed() {
    table.ConfigFile(&config_file);
    DeclareTrainOptions(&config, &table);
  }
};

TEST(Options, DefaultsComeFromTheFieldInitializers) {
  Parsed p;
  ASSERT_TRUE(p.table.Parse({}));
  EXPECT_EQ(p.config.hidden, 500);
  EXPECT_EQ(p.config.method, "pcd");
  EXPECT_FALSE(p.table.Given("hidden"));
}

TEST(Options, CommandLineWinsOverTheConfigFile) {
  const auto ini = WriteFile("zeta_options_test.ini", "hidden = 64\nlearning_rate = 0.5\n");
  Parsed p;
  ASSERT_TRUE(p.table.Parse({"--config", ini, "--hidden", "32"}));
  EXPECT_EQ(p.config.hidden, 32);
  EXPECT_DOUBLE_EQ(p.config.learning_rate, 0.5);
  EXPECT_TRUE(p.table.Given("learning_rate"));
}

TEST(Options, UnknownKeyInConfigIsAUsageErrorNamingFileAndKey) {
  const auto ini = WriteFile("zeta_options_bad.ini", "hiden = 64\n");
  Parsed p;
  try {
    (void)p.table.Parse({"--config", ini});
    FAIL() << "an unknown key was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(ini), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("hiden"), std::string::npos) << e.what();
    EXPECT_EQ(e.exit_code(), kExitUsage);
  }
}

TEST(Options, ConfigAndHelpKeysInAConfigFileAreRefusedNamingFileAndKey) {
  for (const char* name : {"config", "help"}) {
    const std::string key = name;
    const auto ini = WriteFile("zeta_options_" + key + ".ini", "hidden = 64\n" + key + " = 1\n");
    Parsed p;
    try {
      (void)p.table.Parse({"--config", ini});
      FAIL() << "the key " << key << " was accepted in a config file";
    } catch (const UsageError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(ini + ": key '" + key + "' is not allowed in a config file"),
                std::string::npos)
          << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_EQ(e.exit_code(), kExitUsage);
    }
    Parsed q;
    EXPECT_THROW(q.table.ParseConfigText(key + " = x\n", "stored config"), UsageError) << key;
  }
}

TEST(Options, OutOfRangeValueFromAConfigFileNamesTheFile) {
  const auto ini = WriteFile("zeta_options_range.ini", "learning_rate = 500\nmethod = pcd\n");
  Parsed p;
  try {
    (void)p.table.Parse({"--config", ini});
    FAIL() << "learning_rate 500 from a config file was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(ini + ": option --learning_rate: 500 is out of range, "
                                               "expected in [0, 100]"),
              std::string::npos)
        << e.what();
  }
  const auto choice = WriteFile("zeta_options_choice.ini", "method = pcd2\n");
  Parsed q;
  try {
    (void)q.table.Parse({"--config", choice});
    FAIL() << "method pcd2 from a config file was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(choice + ": option --method: 'pcd2' is not one of"),
              std::string::npos)
        << e.what();
  }
  // The command line wins, so a good value there hides the file's bad one, and a bad value
  // there is reported as the command line's, with the file left out.
  Parsed r;
  ASSERT_TRUE(r.table.Parse({"--config", ini, "--learning_rate", "0.5"}));
  EXPECT_DOUBLE_EQ(r.config.learning_rate, 0.5);
  const auto good = WriteFile("zeta_options_good.ini", "learning_rate = 0.5\n");
  Parsed t;
  try {
    (void)t.table.Parse({"--config", good, "--learning_rate", "-1"});
    FAIL() << "learning_rate -1 on the command line was accepted";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("option --learning_rate: -1 is out of range", 0), 0U) << message;
    EXPECT_EQ(message.find(good), std::string::npos) << message;
  }
}

TEST(Options, BadVerbosityIsRefusedLikeAnyChoiceNamingTheConfigFile) {
  const std::string expected = "option --verbosity: 'loud' is not one of debug, info, warn, error";
  const auto ini = WriteFile("zeta_options_verbosity.ini", "verbosity = loud\n");
  Parsed p;
  try {
    (void)p.table.Parse({"--config", ini});
    FAIL() << "verbosity loud from a config file was accepted";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), ini + ": " + expected);
  }
  Parsed q;
  try {
    (void)q.table.Parse({"--verbosity", "loud"});
    FAIL() << "verbosity loud on the command line was accepted";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), expected);
  }
  Parsed r;
  ASSERT_TRUE(r.table.Parse({"--verbosity", "warn"}));
  EXPECT_EQ(r.config.verbosity, "warn");
}

TEST(Options, OutOfRangeValuesAreRefusedWithTheBound) {
  Parsed p;
  try {
    (void)p.table.Parse({"--momentum", "1.5"});
    FAIL() << "momentum 1.5 was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--momentum"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("0.999"), std::string::npos) << e.what();
  }
  Parsed q;
  EXPECT_THROW((void)q.table.Parse({"--method", "pcd2"}), UsageError);
  Parsed r;
  EXPECT_THROW((void)r.table.Parse({"--hidden", "many"}), UsageError);
}

TEST(Options, HyphensAndUnderscoresAreInterchangeableOnTheCommandLine) {
  Parsed p;
  ASSERT_TRUE(p.table.Parse({"--learning-rate", "0.25", "--run_dir=x", "--weight-decay=0.5"}));
  EXPECT_DOUBLE_EQ(p.config.learning_rate, 0.25);
  EXPECT_DOUBLE_EQ(p.config.weight_decay, 0.5);
  EXPECT_EQ(p.config.run_dir, "x");
  Parsed q;
  EXPECT_THROW((void)q.table.Parse({"--learning-rat", "0.25"}), UsageError);
}

TEST(Options, ResolvedTextReadsBackToTheSameSettings) {
  Parsed p;
  ASSERT_TRUE(p.table.Parse({"--learning_rate", "0.1", "--seed", "123456789012"}));
  const std::string resolved = p.table.Resolved();
  Parsed q;
  q.table.ParseConfigText(resolved, "resolved");
  EXPECT_EQ(q.table.Resolved(), resolved);
  EXPECT_DOUBLE_EQ(q.config.learning_rate, 0.1);
  EXPECT_EQ(q.config.seed, 123456789012ULL);
  // The result part leaves out paths and logging.
  const std::string result = p.table.Resolved(Role::kResult);
  EXPECT_EQ(result.find("run_dir"), std::string::npos);
  EXPECT_NE(result.find("hidden = 500"), std::string::npos);
}

}  // namespace
}  // namespace zeta
