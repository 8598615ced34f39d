// The preset browser: the bundled lessons and the user's saved presets, searchable by title,
// name and note, with the lecture note of the selected one. Choosing one emits presetChosen; the
// browser itself changes nothing.
#pragma once

#include "model/presetio.h"

#include <QWidget>

#include <vector>

class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QTextBrowser;

namespace initscope::ui {

class PresetBrowser : public QWidget {
    Q_OBJECT
public:
    explicit PresetBrowser(QWidget* parent = nullptr);

    /// Re-reads the user's presets folder.
    void refresh();
    /// Shows only presets whose title, name or note contains every word of `text`.
    void setFilter(const QString& text);
    /// Names of the presets listed now (after the filter), in order.
    QStringList visibleNames() const;
    /// Selects the listed preset named `name`; false when it is not listed.
    bool select(const QString& name);
    QListWidget* list() const { return list_; }
    QLineEdit* searchField() const { return search_; }

signals:
    void presetChosen(const initscope::Preset& preset, const QString& path);

private:
    void fill();
    void showNote();
    void chooseCurrent();

    std::vector<PresetEntry> entries_;
    QLineEdit* search_;
    QListWidget* list_;
    QTextBrowser* note_;
    QPushButton* load_;
    QLabel* folder_;
};

} // namespace initscope::ui
