// The experiment as a document of the main window: open and save preset files (Ctrl+O, Ctrl+S,
// Save As), recent files, the preset browser dock, drag and drop of a preset or of a figure
// initscope exported, and the error dialog for a file that cannot be used. A file that fails to
// open changes nothing; a save goes through QSaveFile, so a failed save keeps the old file.
#pragma once

#include "preset.h"

#include <QObject>
#include <QString>
#include <QStringList>

class QAction;
class QDockWidget;
class QMenu;

namespace initscope::ui {

class MainWindow;
class PresetBrowser;

class PresetDocument : public QObject {
    Q_OBJECT
public:
    static constexpr int kMaxRecent = 8;

    explicit PresetDocument(MainWindow* window);

    /// Adds Open, Open Recent, Save, Save As and Save to my presets to `file`.
    void addFileActions(QMenu* file);
    QDockWidget* browserDock() const { return dock_; }
    /// Shows the browser's dock in front, with the search field focused.
    void showBrowser();
    PresetBrowser* browser() const { return browser_; }

    /// Opens a preset .json, or the experiment embedded in an exported .png / .svg. On failure
    /// shows (or, with dialogs off, only records) the message naming the field and the problem,
    /// and changes nothing.
    bool openFile(const QString& path);
    /// Sets every control from `preset`, runs it and opens its view.
    void applyPreset(const Preset& preset);
    /// Saves to the current file (asks for one when there is none).
    bool save();
    bool saveAs(const QString& path);
    /// Saves into the user's presets folder under a name made from `title`.
    bool saveToUserPresets(const QString& title);

    /// The experiment on screen: the last opened preset's name, title and note with the
    /// controls' spec and the visible view.
    Preset currentPreset() const;
    QString currentFile() const { return file_; }
    QStringList recentFiles() const;
    /// The text of the last error dialog (empty when the last operation succeeded).
    QString lastError() const { return lastError_; }
    /// Whether the experiment on screen differs from the one last opened or saved (its spec;
    /// the visible tab is not part of it). The window's title shows it ("[*]").
    bool isModified() const;
    /// Updates the window's modified mark (after any change of the controls).
    void updateModified();
    /// Tests turn the modal dialogs off; errors are then only recorded in lastError().
    void setDialogsEnabled(bool on) { dialogs_ = on; }

    static bool isOpenable(const QString& path);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void openDialog();
    void saveAsDialog();
    void saveToUserDialog();
    /// false (and `error`) when the recent list could not be saved
    bool addRecent(const QString& path, QString* error = nullptr);
    void fillRecentMenu();
    void error(const QString& title, const QString& text);
    void updateTitle();

    MainWindow* window_;
    PresetBrowser* browser_;
    QDockWidget* dock_;
    QMenu* recentMenu_ = nullptr;
    Preset base_; // name, title, note of the experiment (spec and view come from the window)
    QString file_;
    QString baseTitle_; // the window's title before a file was named in it
    QString lastError_;
    NetworkSpec savedSpec_; // the spec last opened or saved
    bool dialogs_ = true;
};

} // namespace initscope::ui
